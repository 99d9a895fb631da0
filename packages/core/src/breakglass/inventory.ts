import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import type { Result } from '../errors/index.ts';
import { parserErrorCodes } from '../yaml/codes.ts';
import { FieldReader } from '../yaml/fields.ts';
import { guardedParse } from '../yaml/guarded.ts';
import { sortErrors } from '../yaml/sort-errors.ts';
import { describe, joinPath, valueNode, YamlSource } from '../yaml/source.ts';
import type { Entry } from '../yaml/source.ts';
import { SAFE_NAME } from './command.ts';

/** Where `failsmall breakglass` reaches one node's agent, without the control plane. */
export type AdminAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface InventoryNode {
  readonly id: string;
  readonly admin: AdminAddress;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Inventory {
  readonly nodes: readonly InventoryNode[];
}

/** Every error code `parseInventory` can return. */
export const INVENTORY_ERROR_CODES = parserErrorCodes('BAD_NAME', 'DUPLICATE_NAME', 'BAD_ADDRESS', 'DUPLICATE_ADDRESS');

const TOP_KEYS = ['nodes'] as const;
const NODE_KEYS = ['id', 'admin', 'labels'] as const;
const NODE_EXAMPLE = '- { id: edge-1, admin: "10.0.0.5:7071", labels: { region: eu } }';
export const ADMIN_HINT = 'an admin address is host:port (e.g. 127.0.0.1:7071 or [::1]:7071) or unix:/path/to/admin.sock';

/**
 * Reads an address as the agent's --admin-listen and the inventory write it: `host:port`,
 * `[v6]:port`, or `unix:/absolute/path`. Returns undefined when it is neither.
 */
export function parseAdminAddress(text: string): AdminAddress | undefined {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    return path.startsWith('/') && path.length > 1 && !path.includes('\0') ? { kind: 'unix', path } : undefined;
  }
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { kind: 'tcp', host: (m[1] ?? m[2]) as string, port };
}

export function formatAdminAddress(a: AdminAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Parses a break-glass inventory: the nodes and the admin address of each agent. This file is
 * what an incident commander has when the control plane is gone, so it is checked strictly:
 * a typo must not silently leave a node out. Never throws; errors carry line and column.
 *
 * Examples
 *   nodes:
 *     - { id: edge-1, admin: "127.0.0.1:7101", labels: { region: eu } }
 *     - { id: edge-2, admin: "unix:/var/lib/failsmall/admin.sock" }
 */
export function parseInventory(text: string, opts: { file?: string } = {}): Result<Inventory> {
  return guardedParse(text, { ...opts, what: 'inventory parser', sizeHint: 'split the inventory by region and run breakglass once per file' }, () => {
    const loaded = YamlSource.load(text, opts.file);
    if (!loaded.ok) return { ok: false, errors: sortErrors(loaded.errors), warnings: [] };
    const src = loaded.source;
    const nodes = readInventory(src, loaded.root);
    const errors = sortErrors(src.errors);
    return errors.length > 0 ? { ok: false, errors, warnings: [] } : { ok: true, value: { nodes }, warnings: [] };
  });
}

function readInventory(src: YamlSource, doc: Node | null): InventoryNode[] {
  const f = new FieldReader(src);
  const root = src.deref(doc);
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) {
    // An empty file (or one with only comments) has no node to point at: line 1.
    if (src.errors.length === 0) src.errorAt('EMPTY_DOCUMENT', 'the inventory is empty', src.position(root) ?? { line: 1, col: 1 }, '', `e.g.\nnodes:\n  ${NODE_EXAMPLE}`);
    return [];
  }
  if (!isMap(root)) {
    src.error('WRONG_TYPE', `an inventory must be a mapping with nodes:, got ${describe(root)}`, root, '', `e.g.\nnodes:\n  ${NODE_EXAMPLE}`);
    return [];
  }
  const top = src.entries(root, '');
  src.checkKeys(top, TOP_KEYS, 'the inventory');
  const list = top.find((e) => e.key === 'nodes');
  if (!list) {
    src.error('MISSING_KEY', 'the inventory has no nodes:', root, '', `e.g.\nnodes:\n  ${NODE_EXAMPLE}`);
    return [];
  }
  if (!isSeq(list.value) || list.value.items.length === 0) {
    src.error('WRONG_TYPE', `nodes must be a non-empty list, got ${describe(list.value)}`, valueNode(list), list.path, `e.g. nodes:\n  ${NODE_EXAMPLE}`);
    return [];
  }
  const out: InventoryNode[] = [];
  const ids = new Map<string, number>();
  const addresses = new Map<string, string>();
  list.value.items.forEach((item, i) => {
    const path = joinPath(list.path, i);
    const node = src.deref(item as Node);
    if (!isMap(node)) {
      src.error('WRONG_TYPE', `each node must be a mapping, got ${describe(node)}`, (node ?? item) as Node, path, `e.g. ${NODE_EXAMPLE}`);
      return;
    }
    const entries = src.entries(node, path);
    src.checkKeys(entries, NODE_KEYS, 'a node');
    const text = (key: string): string | undefined => {
      const e = f.require(entries, key, node, path, `e.g. ${NODE_EXAMPLE}`);
      return e ? f.scalarText(e, { hint: `e.g. ${NODE_EXAMPLE}`, nonEmpty: true }) : undefined;
    };
    const id = text('id');
    const admin = text('admin');
    if (id !== undefined && !SAFE_NAME.test(id)) src.error('BAD_NAME', `"${id}" is not a valid node id`, entryValue(entries, 'id'), joinPath(path, 'id'), 'node ids use letters, digits, ".", "_" and "-", as the agent\'s --node-id');
    else if (id !== undefined && ids.has(id)) src.error('DUPLICATE_NAME', `node "${id}" appears twice (first as nodes[${ids.get(id)}])`, entryValue(entries, 'id'), joinPath(path, 'id'), 'each node once: a duplicate would be sent the command twice');
    const address = admin === undefined ? undefined : parseAdminAddress(admin);
    if (admin !== undefined && !address) src.error('BAD_ADDRESS', `"${admin}" is not an admin address`, entryValue(entries, 'admin'), joinPath(path, 'admin'), ADMIN_HINT);
    else if (address && admin !== undefined && addresses.has(admin)) src.error('DUPLICATE_ADDRESS', `admin address ${admin} is also node "${addresses.get(admin)}"'s`, entryValue(entries, 'admin'), joinPath(path, 'admin'), 'two nodes cannot share an agent; one of the two entries is wrong');
    const labels = readLabels(src, f, f.get(entries, 'labels'));
    if (id === undefined || !address || !SAFE_NAME.test(id) || ids.has(id)) return;
    ids.set(id, i);
    if (admin !== undefined) addresses.set(admin, id);
    out.push({ id, admin: address, labels });
  });
  return out;
}

function readLabels(src: YamlSource, f: FieldReader, e: Entry | undefined): Record<string, string> {
  const map = e ? f.map(e, 'e.g. labels: { region: eu, tier: edge }') : undefined;
  if (!map || !e) return {};
  const out: Record<string, string> = {};
  for (const l of src.entries(map, e.path)) {
    const value = f.scalarText(l, { hint: 'e.g. labels: { region: eu }' });
    if (value !== undefined) out[l.key] = value;
  }
  return out;
}

function entryValue(entries: readonly Entry[], key: string): Node | null {
  const e = entries.find((x) => x.key === key);
  return e ? (e.value ?? e.keyNode) : null;
}
