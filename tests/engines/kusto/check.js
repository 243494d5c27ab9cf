// Parse and bind Kusto queries with Microsoft's own language service (npm
// @kusto/language-service-next): reads {"tables": {name: "(col:type, ...)"}, "queries": [...]}
// on stdin, writes one list of diagnostics ("Severity: message") per query as JSON.
'use strict';
const path = require('path');
const base = path.join(__dirname, 'node_modules', '@kusto', 'language-service-next');
require(path.join(base, 'bridge.js'));
require(path.join(base, 'Kusto.Language.Bridge.js'));
const K = global.Kusto.Language;

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  const tables = Object.entries(request.tables).map(
    ([name, schema]) => new K.Symbols.TableSymbol.$ctor7(name, schema, null));
  const db = new K.Symbols.DatabaseSymbol.$ctor1('db', tables, false);
  const cluster = new K.Symbols.ClusterSymbol.$ctor1('cluster', [db], false);
  const globals = K.GlobalState.Default.WithCluster(cluster).WithDatabase(db);
  const results = request.queries.map((query) => {
    const diagnostics = K.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
    const found = [];
    for (let i = 0; i < diagnostics.Count; i++) {
      const d = diagnostics.getItem(i);
      found.push(`${d.Severity}: ${d.Message} (at ${d.Start})`);
    }
    return found;
  });
  process.stdout.write(JSON.stringify(results));
});
