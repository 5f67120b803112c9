"""A simulated MSP (clients, policies, devices) for ``patchdesk simulate``, the demo and tests."""

from patchdesk.simulation.builder import LoadReport, SimulatedMsp, build_msp, load_msp

__all__ = ["LoadReport", "SimulatedMsp", "build_msp", "load_msp"]
