// `--admin-token-file` / FLEETGUARD_ADMIN_TOKEN_FILE: the admin token read from a file at start, so it
// is not on the command line (`ps`) or in the environment. One trailing newline (what `echo` and most
// editors add) is not part of the token.
import { readFileSync } from 'node:fs';
import { ServerConfig } from './config.js';

/** The configuration with the file's token as `adminToken`; throws one line for any problem. */
export function readAdminTokenFile(
  config: ServerConfig,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): ServerConfig {
  const path = config.adminTokenFile;
  if (path === undefined) return config;
  if (config.adminToken !== undefined)
    throw new Error(
      'the admin token is given both ways: set --admin-token/FLEETGUARD_ADMIN_TOKEN or --admin-token-file/FLEETGUARD_ADMIN_TOKEN_FILE, not both',
    );
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new Error(`cannot read the admin token file ${path}: ${why}`);
  }
  const token = text.replace(/\r?\n$/, '');
  const checked = ServerConfig.shape.adminToken.safeParse(token);
  if (!checked.success) throw new Error(`the admin token in ${path}: ${checked.error.issues[0]!.message}`);
  return { ...config, adminToken: token };
}
