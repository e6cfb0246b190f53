import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { FerryError } from '../../../../common/src/errors.ts';
import type { TokenService } from '../../auth/tokens.ts';
import type { UserStore } from '../../auth/users.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';

const TokenPair = z
  .object({ access_token: z.string(), refresh_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int() })
  .openapi('TokenPair');

export function authRoutes(app: OpenAPIHono<ApiEnv>, deps: { users: UserStore; tokens: TokenService }) {
  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/auth/login',
      scope: 'public',
      summary: 'Log in with the admin user; returns JWT access and refresh tokens (seed 004)',
      tags: ['auth'],
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z
                .object({
                  email: z.string().min(1).max(200).optional().openapi({ description: 'User name; the admin is `admin`' }),
                  username: z.string().min(1).max(200).optional(),
                  password: z.string().min(1).max(1000),
                })
                .strict(),
            },
          },
        },
      },
      responses: { 200: { description: 'Tokens', content: { 'application/json': { schema: TokenPair } } } },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const who = b.email ?? b.username;
      if (!who) throw new FerryError('validation_error', 'Give "email" (or "username") and "password"', { status: 422, details: { field: 'email' } });
      const user = await deps.users.verify(who, b.password);
      if (!user) throw new FerryError('invalid_credentials', 'Wrong user name or password', { status: 401 });
      return c.json(await deps.tokens.issue(user), 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/auth/refresh',
      scope: 'public',
      summary: 'Exchange a refresh token for a new token pair (the old refresh token stops working)',
      tags: ['auth'],
      request: { body: { required: true, content: { 'application/json': { schema: z.object({ refresh_token: z.string().min(10).max(4000) }).strict() } } } },
      responses: { 200: { description: 'Tokens', content: { 'application/json': { schema: TokenPair } } } },
    }),
    async (c) => c.json(await deps.tokens.refresh(c.req.valid('json').refresh_token), 200),
  );
}
