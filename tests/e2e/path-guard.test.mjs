// A task whose path would take the request off the platform's origin is refused by the extension
// before anything is sent. Such a task can only come from outside the Vinted module, e.g. a
// legacy (V1) row written straight into plugin_tasks, which the host hands out like any step.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makePng } from './lib/images.mjs';
import { BROWSERS, product, waitFor, withWorld } from './lib/world.mjs';

const BAD_PATHS = [
  '//evil.example/x', // protocol-relative: another host
  'https://evil.example/', // absolute URL
  '/\\evil.example/x', // a backslash, which URL parsers read as a slash
];

const sqlString = (text) => `'${text.replaceAll("'", "''")}'`;

for (const browser of BROWSERS) {
  test(`${browser}: legacy tasks whose path would leave the origin fail as refused and send nothing`, { timeout: 120_000 }, async () => {
    await withWorld({ browser }, async (world) => {
      // The CLI creates the database; then legacy rows with only the seed's columns.
      await world.cli.run('queues');
      const sentBefore = world.fake.received().length;
      await world.cli.sql(BAD_PATHS.map((path) =>
        `INSERT INTO plugin_tasks (task_type, platform, http_method, path, payload, status) VALUES ('publish', 'vinted', 'POST', ${sqlString(path)}, '{"title": "x"}', 'pending');`).join('\n'));
      const rows = await world.cli.sql('SELECT id, path FROM plugin_tasks WHERE queue_id IS NULL ORDER BY id');
      assert.deepEqual(rows.map((r) => r.path), BAD_PATHS);

      // No user action: the host notices the new rows and hands them out.
      const ids = rows.map((r) => r.id).join(',');
      const failed = await waitFor(async () => {
        const tasks = await world.cli.sql(`SELECT id, path, status, error_message, retry_count FROM plugin_tasks WHERE id IN (${ids}) ORDER BY id`);
        return tasks.every((t) => t.status === 'failed') ? tasks : null;
      }, {
        timeoutMs: 30_000, what: 'the legacy tasks to fail',
        describe: async () => JSON.stringify(await world.cli.sql(`SELECT id, path, status, error_message, retry_count FROM plugin_tasks`)),
      });
      for (const task of failed) {
        assert.match(task.error_message ?? '', /refused/i, `${task.path}: ${task.error_message}`);
      }
      const attempts = await world.cli.sql(`SELECT task_id, COUNT(*) AS n FROM task_attempts WHERE task_id IN (${ids}) GROUP BY task_id ORDER BY task_id`);
      assert.deepEqual(attempts.map((a) => a.n), BAD_PATHS.map(() => 1), 'refused at the first attempt, never retried');

      // The platform's queue is not blocked by them: a real publish goes through afterwards.
      const [productId] = await world.importProducts([product({ images: ['photos/one.png'] })], { 'one.png': makePng({ width: 64, height: 64, seed: 3 }) });
      const queueId = await world.publish(productId);
      await world.waitForQueue(queueId, 'completed', { timeoutMs: 30_000 });

      // Nothing was sent for the bad tasks: neither to the site nor through the proxy.
      const sinceBad = world.fake.received().slice(sentBefore);
      assert.deepEqual(sinceBad.filter((r) => /evil/i.test(r.path) || /evil/i.test(r.headers.host ?? '')), []);
      assert.deepEqual(sinceBad.filter((r) => r.pathname.startsWith('/api/')).map((r) => r.pathname),
        ['/api/v2/photos', '/api/v2/item_upload/drafts', `/api/v2/item_upload/drafts/${world.fake.drafts()[0].id}/completion`],
        'only the real publish reached the API');
      assert.deepEqual(world.fake.proxyLog().filter((entry) => /evil/i.test(entry.target)), [], 'no tunnel was ever asked for evil.example');
    });
  });
}
