// API tokens: `upd_<prefix>_<secret>`. The prefix (12 hex digits) is public: it identifies the
// token in listings, the audit log and `updraft tokens revoke`. The secret (256 random bits,
// base64url) is shown once and stored only as its sha256: a token is random, so a fast hash
// is as good as a slow one, and checking one costs a lookup by prefix and a constant-time
// comparison of two 32-byte digests.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Caller, type Role } from './auth.js';
import type { Db } from './db/prisma.js';
import { badInput, notFound } from './errors.js';
import { checkDagId } from './runs.js';

const TOKEN_PATTERN = /^upd_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const PREFIX_PATTERN = /^(?:upd_)?([0-9a-f]{12})$/;
/** A token's last use is written at most this often: one UPDATE a minute per busy token, not one per request. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** Compared against when the prefix is unknown, so that an unknown prefix takes as long as a wrong secret. */
const NO_SUCH_DIGEST = Buffer.alloc(32);

export const MAX_TOKEN_NAME_LENGTH = 100;
export const MAX_GRANTS = 1_000;
export const MAX_TAG_LENGTH = 100;

/** What `createApiToken` needs besides who creates it. */
export interface ApiTokenInput {
  /** Shown in listings and the audit log. Optional: the prefix identifies the token anyway. */
  name?: string | null;
  role: Role;
  /** Limit the token to these DAG ids (and/or `tags`); both empty or absent: every DAG. */
  dagIds?: readonly string[] | null;
  tags?: readonly string[] | null;
  /** When it stops working; absent: never (until revoked). */
  expiresAt?: Date | null;
}

/** A stored token as it may be shown: everything but its hash. */
export interface ApiTokenInfo {
  prefix: string;
  name: string | null;
  role: Role;
  dagIds: string[];
  tags: string[];
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Why a presented token was refused. Only a holder of the right secret learns `expired` or `revoked`. */
export type TokenRefusal = 'malformed' | 'invalid' | 'expired' | 'revoked';

export type TokenCheck = { ok: true; caller: Caller } | { ok: false; reason: TokenRefusal; prefix: string | null };

const INFO_SELECT = {
  prefix: true,
  name: true,
  role: true,
  dagIds: true,
  tags: true,
  createdBy: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
} as const;

/** Creates a token; the returned `token` is the only time its secret exists outside the caller's hands. */
export async function createApiToken(prisma: Db, input: ApiTokenInput, createdBy: string, now = new Date()): Promise<{ token: string; info: ApiTokenInfo }> {
  const name = checkName(input.name ?? null);
  const dagIds = uniqueList('dagIds', input.dagIds ?? [], (id) => checkDagId(id));
  const tags = uniqueList('tags', input.tags ?? [], checkTag);
  if (input.expiresAt != null && !(input.expiresAt.getTime() > now.getTime())) {
    throw badInput(`expiresAt ${input.expiresAt.toISOString()} is not in the future`);
  }
  for (;;) {
    const prefix = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const created = await prisma.apiToken
      .create({
        data: { prefix, name, secretHash: digest(secret), role: input.role, dagIds, tags, createdBy, expiresAt: input.expiresAt ?? null },
        select: INFO_SELECT,
      })
      .catch((e: unknown) => {
        // 48 random bits: a clash is rare, and the next prefix will do.
        if (typeof e === 'object' && e !== null && 'code' in e && e.code === 'P2002') return null;
        throw e;
      });
    if (created) return { token: `upd_${prefix}_${secret}`, info: created };
  }
}

/**
 * Checks a presented token: its prefix is looked up, its secret's digest compared in constant
 * time, then expiry and revocation. A valid token's last use is refreshed (once a minute).
 */
export async function authenticateToken(prisma: Db, token: string, now = new Date()): Promise<TokenCheck> {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return { ok: false, reason: 'malformed', prefix: null };
  const [, prefix, secret] = match as unknown as [string, string, string];
  const row = await prisma.apiToken.findUnique({
    where: { prefix },
    select: { id: true, secretHash: true, name: true, role: true, dagIds: true, tags: true, expiresAt: true, revokedAt: true, lastUsedAt: true },
  });
  const matches = timingSafeEqual(row && row.secretHash.length === 32 ? Buffer.from(row.secretHash) : NO_SUCH_DIGEST, digest(secret));
  if (!row || !matches) return { ok: false, reason: 'invalid', prefix };
  if (row.revokedAt !== null) return { ok: false, reason: 'revoked', prefix };
  if (row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired', prefix };
  if (row.lastUsedAt === null || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now }, select: { id: true } });
  }
  const grants = row.dagIds.length > 0 || row.tags.length > 0 ? { dagIds: row.dagIds, tags: row.tags } : null;
  return { ok: true, caller: { actor: `token:${prefix}`, name: row.name, role: row.role, grants } };
}

/** Revokes the token with this prefix (`upd_` optional). Revoking a revoked token changes nothing. */
export async function revokeApiToken(prisma: Db, prefix: string, now = new Date()): Promise<ApiTokenInfo> {
  const id = parseTokenPrefix(prefix);
  await prisma.apiToken.updateMany({ where: { prefix: id, revokedAt: null }, data: { revokedAt: now } });
  const token = await prisma.apiToken.findUnique({ where: { prefix: id }, select: INFO_SELECT });
  if (!token) throw notFound(`No API token has the prefix ${id}`);
  return token;
}

/** A token's prefix as given by a user (`3f9a1c0b7d2e` or `upd_3f9a1c0b7d2e`); a whole token is refused, so it is not echoed. */
export function parseTokenPrefix(text: string): string {
  const match = PREFIX_PATTERN.exec(text);
  if (match) return match[1]!;
  if (TOKEN_PATTERN.test(text)) throw badInput('That is a whole token; give only its prefix (the 12 hex digits after "upd_")');
  throw badInput(`${JSON.stringify(text.slice(0, 40))} is not a token prefix: 12 hex digits, optionally after "upd_"`);
}

/** The public part of a presented token, if it looks like one (for the audit of a failed authentication). */
export function tokenPrefixOf(token: string): string | null {
  return TOKEN_PATTERN.exec(token)?.[1] ?? null;
}

function digest(secret: string): Buffer<ArrayBuffer> {
  return createHash('sha256').update(secret).digest() as Buffer<ArrayBuffer>;
}

function checkName(name: string | null): string | null {
  if (name === null) return null;
  if (name.trim() === '' || name.length > MAX_TOKEN_NAME_LENGTH) throw badInput(`name must have 1 to ${MAX_TOKEN_NAME_LENGTH} characters, not only spaces`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw badInput('name must not contain control characters');
  return name;
}

function checkTag(tag: string): void {
  if (tag === '' || tag.length > MAX_TAG_LENGTH) throw badInput(`${JSON.stringify(tag.slice(0, 40))} is not a tag: tags have 1 to ${MAX_TAG_LENGTH} characters`);
  if (tag.includes('\u0000')) throw badInput(`${JSON.stringify(tag)} is not a tag: it contains a NUL character (\\u0000)`);
}

function uniqueList(what: string, items: readonly string[], check: (item: string) => void): string[] {
  if (items.length > MAX_GRANTS) throw badInput(`${what} has ${items.length} entries; at most ${MAX_GRANTS}`);
  items.forEach(check);
  return [...new Set(items)];
}
