import { version } from '../../package.json';

export const GATEHOUSE_VERSION: string = version;
