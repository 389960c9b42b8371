/**
 * Every hub program Tunnelgate can run, registered by importing the modules that define them.
 * The bootstrap installs exactly this list, so a module that adds a program must be listed here
 * or a least-privilege hub will refuse to run it.
 */
import '../facts/file-modes.js';
import '../facts/probes.js';
import '../../workers/fix.js';
import './peers.js';
import './rotation.js';
import '../../workers/set-expiry.js';

export { hubPrograms } from './registry.js';
