export * from '../../../src/lab/topology.js';
