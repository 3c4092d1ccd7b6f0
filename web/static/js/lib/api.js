// @ts-check
// JSON over HTTP to the desk's REST API. Every error the desk sends is
// {"error": code, "message": text}; it becomes an ApiError with both.

export class ApiError extends Error {
  /**
   * @param {number} status  the HTTP status (0: the desk could not be reached)
   * @param {string} code  the desk's error code
   * @param {string} message  plain words for a person
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * What an error thrown says (an ApiError's plain words), for a status line.
 * @param {unknown} error
 * @returns {string}
 */
export function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The desk's JSON answer (null when there is no body), or an ApiError. The caller
 * names its shape `T` (docs/api.md, /api/v1/openapi.json): it is not checked here.
 * @template [T=unknown]
 * @param {string} method
 * @param {string} url
 * @param {{body?: unknown, token?: string | null}} [options]  a JSON body, a bearer token
 * @returns {Promise<T>}
 */
export async function requestJson(method, url, { body, token } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "The desk could not be reached.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      (data && data.error) || "error",
      (data && data.message) || response.statusText,
    );
  }
  return data;
}
