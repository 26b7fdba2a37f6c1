/** An error the client caused or may see: status, the contract's message and snake_case code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly details?: unknown[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const notFound = (message: string, code: string) => new HttpError(404, message, code);
export const unauthorized = (message: string) =>
  new HttpError(401, message, message === 'missing authorization' ? 'missing_authorization' : 'invalid_token');
