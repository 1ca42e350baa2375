"""One router per resource: command (router and speak), memory, ecosystem, agents (spawn, list,
show, import), pulls (the local forge's reviewer), flows, runs, system.

Each route runs a flow through `phoenix.api.results.run_flow_response`, so a failed operation gets
its error's status everywhere, and documents its statuses with `phoenix.api.models.error_responses`.
"""
