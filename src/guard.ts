import { log } from './log.js';

/**
 * The gateway's one crash barrier. Every callback that uWebSockets.js or an event emitter calls
 * (HTTP handlers, WebSocket upgrade/open/message/drain/close, the listener's events) is wrapped
 * once, where it is registered: an exception thrown there (or a promise it returns that rejects)
 * would otherwise end the process, because nothing above such a callback catches. (Request body
 * chunks fail into the request's own promise instead: see readJsonBody.)
 *
 * The failure is logged once at error level, then `recover` answers the one client concerned, the
 * callback's first argument: a response gets a 500, a socket is closed with 1011. A failure of
 * `recover` itself (e.g. the response was aborted meanwhile) is ignored: nobody is left to answer.
 */
export function guard<A extends unknown[]>(
  where: string,
  callback: (...args: A) => unknown,
  recover?: (client: NoInfer<A[0]>) => void,
): (...args: A) => void {
  const fail = (args: A, error: unknown) => {
    log.error(`${where} failed`, error);
    try {
      recover?.(args[0]);
    } catch {
      // the client is gone: nothing to answer
    }
  };
  return (...args: A) => {
    try {
      const result = callback(...args);
      if (result instanceof Promise) result.catch((error: unknown) => fail(args, error));
    } catch (error) {
      fail(args, error);
    }
  };
}
