"""The network's tools as the loop reaches them.

MCP and NetMCP callers, tool-server registration, in-process NetMCP, the tool-server process.
"""
