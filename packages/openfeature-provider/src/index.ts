export { SlipwayProvider, type SlipwayProviderOptions } from './provider.js';
