"""A simulated MSP (clients, policies, devices) for ``patchdesk simulate``, the demo and tests.

``builder`` makes an MSP and loads it into a store, ``run`` patches it with the real engine
in virtual time (``patchdesk simulate``, the benchmarks), ``demo`` is ``patchdesk demo``'s
MSP. Out of the live engine's path: nothing below it imports it.

May import the engine, the store, the connectors (the simulator) and the layers below them;
never the UI or the CLI.
"""

from patchdesk.simulation.builder import LoadReport, SimulatedMsp, build_msp, load_msp

__all__ = ["LoadReport", "SimulatedMsp", "build_msp", "load_msp"]
