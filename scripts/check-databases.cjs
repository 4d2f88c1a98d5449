// Fails (exit 1) when PostgreSQL or MariaDB on loopback is unreachable; used by .ci/run.
const net = require('node:net');
const targets = [
  ['PostgreSQL', Number(process.env.PGPORT || 5432)],
  ['MariaDB', Number(process.env.MYSQL_PORT || 3306)],
];
Promise.all(
  targets.map(
    ([name, port]) =>
      new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port, timeout: 3000 });
        s.on('connect', () => (s.destroy(), resolve([name, true])));
        s.on('error', () => resolve([name, false]));
        s.on('timeout', () => (s.destroy(), resolve([name, false])));
      }),
  ),
).then((results) => {
  let ok = true;
  for (const [name, up] of results) {
    console.log(`${name}: ${up ? 'reachable' : 'UNREACHABLE'}`);
    ok &&= up;
  }
  if (!ok) {
    console.error('Integration databases are required in CI; start them (see README) and run again.');
    process.exit(1);
  }
});
