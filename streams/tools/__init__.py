"""The network's tools as the loop reaches them.

MCP and NetMCP callers, tool-server registration (surviving management outages), in-process NetMCP,
the tool-server process, the catalogue policies are checked against.
"""
