// The console's only way out: the admin API of the appliance that served it, with the signed-in key as a
// bearer header. Never a cookie (credentials: 'omit'), never the key in a URL.

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

let bearer: string | null = null;
let onUnauthorized: () => void = () => undefined;

export function useKey(key: string | null): void {
  bearer = key;
}

/** Called when a signed-in key stops working (revoked, expired): the console signs out. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

type Query = Record<string, string | number | undefined>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, String(value));
  const search = params.toString();
  return `/admin/v1${path}${search ? `?${search}` : ''}`;
}

async function call(method: string, path: string, query?: Query, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiFailure(0, null, 'The appliance cannot be reached.');
  }
  if (response.ok) return response;
  const failure = await failureOf(response);
  if (response.status === 401 && bearer) onUnauthorized();
  throw failure;
}

/** The catalogue's `{"error":{message,code}}`; its message is the appliance's own fixed text. */
async function failureOf(response: Response): Promise<ApiFailure> {
  try {
    const body = (await response.json()) as { error?: { message?: unknown; code?: unknown } };
    const message = typeof body.error?.message === 'string' ? body.error.message : response.statusText;
    const code = typeof body.error?.code === 'string' ? body.error.code : null;
    return new ApiFailure(response.status, code, message);
  } catch {
    return new ApiFailure(response.status, null, `HTTP ${response.status}`);
  }
}

export async function getJson<T>(path: string, query?: Query): Promise<T> {
  return (await (await call('GET', path, query)).json()) as T;
}

export async function sendJson<T>(
  method: 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  return (await (await call(method, path, undefined, body)).json()) as T;
}

/**
 * A file download: fetched with the bearer header (a plain link could not carry it), then saved through an
 * object URL under the name the appliance gives in content-disposition.
 */
export async function download(path: string, query: Query, fallbackName: string): Promise<string> {
  const response = await call('GET', path, query);
  const disposition = response.headers.get('content-disposition') ?? '';
  const fileName = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const objectUrl = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = objectUrl;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
  return fileName;
}
