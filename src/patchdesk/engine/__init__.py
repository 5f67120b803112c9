"""The engine: the reconcile step that patches the fleet, and what runs it.

``reconcile.Reconciler.step(now)`` reads the store and the fleet at ``now``, decides and
writes; it is safe to run again, or after a crash at any point. Each phase (fleet facts,
deployments, following targets, dispatch, operator requests) is a module here taking one
``step.Step``. ``lease`` lets one engine dispatch at a time; ``runner`` (``patchdesk
engine``), ``live`` (beside the UI) and the simulation drive the step; ``connector`` turns
the settings into a connector. docs/architecture.md describes the phases and their crash
story.

May import ``store``, ``connectors``, ``settings``, ``policy``, ``rules`` and the layers
below them; never the UI, ``simulation``, ``reports`` or the CLI. Nothing here reads the wall
clock in a step (``now`` is passed: the simulation runs on virtual time) or imports Textual.
"""
