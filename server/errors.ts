// Every error the HTTP API returns, declared once with its status (fastify's own errors file is the model).
export const ERRORS = {
  invalid_request: 400,
  invalid_json: 400,
  unknown_principal_type: 400,
  unknown_resource_type: 400,
  unknown_action: 400,
  batch_too_large: 400,
  unauthorized: 401,
  denied: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  not_ready: 503,
  store_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; path?: string };
}

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.status = ERRORS[code];
  }

  body(): ErrorBody {
    return {
      error:
        this.path === undefined
          ? { code: this.code, message: this.message }
          : { code: this.code, message: this.message, path: this.path },
    };
  }
}
