import type { MiddlewareHandler } from 'hono';
import { randomToken } from '../../../../common/src/ids.ts';
import type { ApiEnv } from '../env.ts';

const SAFE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echo the client's X-Request-Id when it is a sane token, otherwise make one: `req_...`. */
export function requestId(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const id = given && SAFE.test(given) ? given : `req_${randomToken(20)}`;
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
    // Error responses built by onError are new Response objects; make sure they carry it too.
    c.res.headers.set('X-Request-Id', id);
  };
}
