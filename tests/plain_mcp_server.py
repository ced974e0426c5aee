"""A plain MCP server over stdio, without NetMCP: what a NetMCP client must fall back against."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("plain")


@server.tool()
async def echo(text: str) -> str:
    """Return the text it is given."""
    return text


if __name__ == "__main__":
    server.run("stdio")
