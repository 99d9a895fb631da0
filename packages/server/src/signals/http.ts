import { httpRequest, type HttpRequestOptions as AgentRequestOptions, type HttpResponse as AgentResponse } from '@failsmall/io';

/**
 * The one HTTP call a signal source needs, injected so tests and the simulator can hand a fake.
 * The default is the agent's node:http transport (node:http rather than fetch: undici's memory).
 */
export type HttpRequest = (url: string, o: HttpRequestOptions) => Promise<HttpResponse>;
export type HttpRequestOptions = AgentRequestOptions & { readonly maxBytes: number; readonly body?: string };
export type HttpResponse = AgentResponse;

export const nodeHttpRequest: HttpRequest = (url, o) => httpRequest(url, o);
