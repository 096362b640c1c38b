export {
  IGNITION_VERSION,
  type IgnitionFile,
  type IgnitionSpec,
  type IgnitionUnit,
  type IgnitionUser,
  dataUrl,
  renderIgnition,
} from './ignition.ts';
