// Preload (node --import) that makes every TCP listen() without an explicit host bind to
// 127.0.0.1 instead of all interfaces. supergateway 4.0.0 has no --host option and calls
// app.listen(port); the tests must only ever listen on the loopback address.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const a0 = args[0];
  if (typeof a0 === "number" || (typeof a0 === "string" && /^\d+$/.test(a0))) {
    if (typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");
  } else if (a0 && typeof a0 === "object" && a0.path === undefined && a0.host === undefined) {
    args[0] = { ...a0, host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
