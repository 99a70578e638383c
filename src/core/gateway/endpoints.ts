/** Which MCP endpoints an editor offers its own MCP client: `/mcp`, one `/mcp/<server>` per server, or both. */
export type EndpointChoice = 'aggregate' | 'perServer' | 'both';

export interface McpEndpoint {
  readonly label: string;
  readonly url: string;
  /** The one upstream served, for a per-server endpoint. */
  readonly server?: string;
}

/** The endpoints to offer for `choice`, from the aggregate URL (`http://127.0.0.1:<port>/mcp`) and the configured servers. */
export function mcpEndpoints(aggregateUrl: string, servers: readonly string[], choice: EndpointChoice): McpEndpoint[] {
  const aggregate: McpEndpoint[] = choice === 'perServer' ? [] : [{ label: 'Gatehouse', url: aggregateUrl }];
  const perServer: McpEndpoint[] =
    choice === 'aggregate' ? [] : [...servers].sort().map((server) => ({ label: `${server} (via Gatehouse)`, url: `${aggregateUrl}/${encodeURIComponent(server)}`, server }));
  return [...aggregate, ...perServer];
}
