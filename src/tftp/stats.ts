/**
 * Counters a TFTP server keeps. Reason names are the same strings the debug log shows, so a
 * counter that moves can be matched to its log lines.
 */

/** Why an incoming packet was dropped without changing any transfer. */
export const DROP_REASONS = {
  malformed: 'could not be decoded',
  unexpected_opcode: 'valid packet of a kind that makes no sense on this socket',
  unknown_tid: 'from a host/port that is not the peer of this transfer (RFC 1350 section 4)',
  stale_ack: 'duplicate or old ACK (RFC 1123 section 4.2.3.1)',
  busy: 'request while at the transfer limit; the client will retransmit it',
  duplicate_request: 'retransmitted RRQ of a transfer already under way',
} as const;
export type DropReason = keyof typeof DROP_REASONS;

/** Why a request was answered with an ERROR instead of a transfer. */
export const REFUSAL_REASONS = {
  write_request: 'WRQ on a read-only server',
  bad_mode: 'mode other than octet or netascii',
  not_found: 'no such file',
  access_denied: 'path outside the root, or not a regular file',
  read_error: 'the file could not be opened or a socket could not be created',
} as const;
export type RefusalReason = keyof typeof REFUSAL_REASONS;

export interface TftpStats {
  /** RRQ and WRQ packets received on the listener. */
  requests: number;
  /** Transfers in progress now. */
  active: number;
  transfers: {
    ok: number;
    failed: number;
    /** Client declined the OACK (UEFI asks tsize, aborts, asks again): normal, not a failure. */
    aborted_after_oack: number;
  };
  /** File bytes acknowledged by clients. */
  bytes: number;
  dropped: Record<DropReason, number>;
  refused: Record<RefusalReason, number>;
}

const zeros = <K extends string>(table: Record<K, string>): Record<K, number> =>
  Object.fromEntries(Object.keys(table).map((k) => [k, 0])) as Record<K, number>;

export function emptyStats(): TftpStats {
  return {
    requests: 0,
    active: 0,
    transfers: { ok: 0, failed: 0, aborted_after_oack: 0 },
    bytes: 0,
    dropped: zeros(DROP_REASONS),
    refused: zeros(REFUSAL_REASONS),
  };
}

/** A deep copy, so callers can diff snapshots. */
export function snapshot(s: TftpStats): TftpStats {
  return { ...s, transfers: { ...s.transfers }, dropped: { ...s.dropped }, refused: { ...s.refused } };
}
