import type { TemplatedApp } from 'uWebSockets.js';
import { guard } from '../guard.js';
import { errorBody, send } from '../http/respond.js';
import { answerInternalError } from '../http/route.js';
import { log } from '../log.js';
import { metricsText } from '../metrics.js';

/**
 * GET /metrics in Prometheus text format, on the public app or on the METRICS_PORT app (which
 * serves nothing else). Not behind a token: keep it off the public port in production, or let
 * the reverse proxy refuse it (docs/deploy.md).
 */
export function metricsRoute(app: TemplatedApp): void {
  app.get(
    '/metrics',
    guard(
      'GET /metrics',
      (res) => {
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        metricsText().then(
          ({ contentType, body }) => {
            if (aborted) return;
            res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', contentType).end(body));
          },
          (error) => {
            log.error('metrics could not be collected', error);
            if (!aborted) send(res, { status: 500, body: errorBody('internal server error', 'internal') });
          },
        );
      },
      answerInternalError,
    ),
  );
}
