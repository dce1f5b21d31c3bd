export {
  probeSystemBootloader,
  SystemBootloaderError,
  type SystemBootloaderFound,
} from './system-bootloader.ts';
