export { type Icmp6Sender, MIN_DELAY_BETWEEN_RAS_MS, RaAdvertiser } from './advertiser.ts';
export {
  decode,
  encode,
  encodingLength,
  ICMPV6_ROUTER_ADVERTISEMENT,
  quietAdvertisement,
  type RouterAdvertisement,
} from './ra.ts';
