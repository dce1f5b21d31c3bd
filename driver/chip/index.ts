export {
  allRegisters,
  type DecodedField,
  decodeRegister,
  fieldMask,
  fieldOf,
  formatRegister,
  getField,
  registerAt,
  setField,
  UnknownFieldError,
} from './decode.ts';
export { STM32G071 } from './stm32g071.ts';
export type {
  Access,
  ChipDescription,
  DmaChannelDescription,
  FieldDescription,
  RegisterDescription,
  UsartDescription,
} from './types.ts';
