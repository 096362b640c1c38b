/**
 * DHCPv4 wire numbers as named tables. Logs and JSON use the names; only the codec uses
 * the numbers.
 */

/** BOOTP op field, RFC 951 / RFC 2131 section 2. */
export const Op = { BOOTREQUEST: 1, BOOTREPLY: 2 } as const;

/** Option 53 values, RFC 2132 section 9.6. */
export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageTypeName = keyof typeof MessageType;
export const messageTypeName = (n: number): MessageTypeName | undefined =>
  (Object.keys(MessageType) as MessageTypeName[]).find((k) => MessageType[k] === n);

/** Option codes used by metalseed, RFC 2132 unless noted. */
export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1, // 3.3
  ROUTER: 3, // 3.5
  DNS_SERVERS: 6, // 3.8
  HOSTNAME: 12, // 3.14
  DOMAIN_NAME: 15, // 3.17
  BROADCAST_ADDRESS: 28, // 5.3
  VENDOR_SPECIFIC: 43, // 8.4 (PXE uses it for its sub-options, PXE 2.1 spec)
  REQUESTED_IP: 50, // 9.1
  LEASE_TIME: 51, // 9.2
  OVERLOAD: 52, // 9.3
  MESSAGE_TYPE: 53, // 9.6
  SERVER_ID: 54, // 9.7
  PARAMETER_LIST: 55, // 9.8
  MESSAGE: 56, // 9.9
  MAX_MESSAGE_SIZE: 57, // 9.10
  RENEWAL_TIME: 58, // 9.11 (T1)
  REBINDING_TIME: 59, // 9.12 (T2)
  VENDOR_CLASS: 60, // 9.13
  CLIENT_ID: 61, // 9.14
  TFTP_SERVER_NAME: 66, // 9.4
  BOOTFILE_NAME: 67, // 9.5
  USER_CLASS: 77, // RFC 3004
  CLIENT_ARCH: 93, // RFC 4578 section 2.1
  CLIENT_NDI: 94, // RFC 4578 section 2.2
  CLIENT_UUID: 97, // RFC 4578 section 2.3
  IPXE_ENCAP: 175, // iPXE: https://ipxe.org/howto/dhcpd (encapsulated iPXE options)
  END: 255,
} as const;
export type OptName = keyof typeof Opt;
export const optName = (n: number): string =>
  (Object.keys(Opt) as OptName[]).find((k) => Opt[k] === n) ?? `opt${n}`;

/** Encapsulated iPXE sub-options of option 175 (iPXE include/ipxe/dhcp.h). */
export const IpxeOpt = {
  NO_PXEDHCP: 176, // 1 = do not wait for ProxyDHCP offers
  BUS_ID: 177,
  HTTP: 19,
  HTTPS: 20,
  PXE_EXT: 16,
  ISCSI: 17,
  EFI: 24,
  MENU: 39,
  VERSION: 235,
} as const;

/** PXE vendor sub-options inside option 43 (PXE 2.1 spec, section 2.2.6). */
export const PxeOpt = {
  DISCOVERY_CONTROL: 6, // bit 3 (value 8): boot from the file in this reply, skip discovery
} as const;

/** BOOTP flags field, RFC 2131 section 2, figure 2. */
export const FLAG_BROADCAST = 0x8000;

/** RFC 2131 section 4.1: the first four bytes of the options field. */
export const MAGIC_COOKIE = 0x63825363;

export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
/** PXE 2.1: boot server discovery / proxyDHCP requests to port 4011. */
export const PXE_PORT = 4011;
