/**
 * Every hub program Tunnelgate can run, registered by importing the modules that define them.
 * The bootstrap installs exactly this list, so a module that adds a program must be listed here
 * or a least-privilege hub will refuse to run it.
 */
import '../runbooks/file-modes.js';
import '../runbooks/probes.js';
import './fix.js';
import './hub-steps.js';
import './rotate-steps.js';
import './set-expiry.js';

export { hubPrograms } from './hub-programs.js';
