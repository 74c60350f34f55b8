// Starts Portkey's gateway (`build/start-server.js`, argv: <path> --port=N --headless) bound to 127.0.0.1 only:
// its server calls listen(port, undefined), which would bind every interface.
import net from 'node:net';
import { pathToFileURL } from 'node:url';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args[1] === undefined || typeof args[1] === 'function')) {
    args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
console.clear = () => {}; // it clears the terminal at start-up
await import(pathToFileURL(process.argv[2]).href);
