// The echo side of the grpc-js ping-pong, in its own process like a real agent and server.
import { ECHO_SERVICE, startEcho } from './peers.js';

void startEcho(ECHO_SERVICE).then(
  ({ port }) => {
    process.send?.({ port });
    process.on('disconnect', () => process.exit(0));
  },
  (err: unknown) => {
    process.send?.({ error: String(err) });
    process.exit(1);
  },
);
