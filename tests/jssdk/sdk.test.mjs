// The official Bitrix24 JS SDK (@bitrix24/b24jssdk, pinned in package-lock.json) against the sandbox.
// Run by tests/jssdk/test_jssdk.py, one test per process against a freshly reset sandbox; JSSDK_CONFIG
// carries the app's token pair, the portal and OAuth endpoints and the control URL.
// Where the SDK reads a documented answer its own way, the test pins it (the README says what to watch).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ApiVersion, B24OAuth } from '@bitrix24/b24jssdk'

const cfg = JSON.parse(process.env.JSSDK_CONFIG ?? '{}')
const CALL = {
  OWNER_TYPE_ID: 2, OWNER_ID: 1, TYPE_ID: 2, SUBJECT: 'JS SDK call', RESPONSIBLE_ID: 1,
  COMMUNICATIONS: [{ VALUE: '+18005550199', ENTITY_ID: 1, ENTITY_TYPE_ID: 3 }],
  START_TIME: '2030-01-01T10:00:00+00:00'
}
const TODO = { ownerTypeId: 2, ownerId: 1, deadline: '2030-01-02T10:00:00+00:00', title: 'JS SDK to-do' }

function client (restrictionParams) {
  return new B24OAuth(cfg.auth, cfg.secret, restrictionParams ? { restrictionParams } : undefined)
}

async function call (b24, method, params = {}) {
  const answer = await b24.actions.v2.call.make({ method, params })
  assert.ok(answer.isSuccess, `${method}: ${answer.getErrorMessages?.().join('; ')}`)
  return answer.getData().result
}

async function control (path, body) {
  const response = await fetch(`${cfg.oauth}/_sandbox/${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
  })
  const text = await response.text()
  assert.equal(response.status, 200, text)
  return JSON.parse(text)
}

test('crud', async () => {
  const b24 = client()
  const id = await call(b24, 'crm.activity.add', { fields: CALL })
  assert.equal(typeof id, 'number')
  assert.equal((await call(b24, 'crm.activity.get', { id })).SUBJECT, 'JS SDK call')
  assert.equal(await call(b24, 'crm.activity.update', { id, fields: { SUBJECT: 'Changed' } }), true)
  assert.equal((await call(b24, 'crm.activity.get', { id })).SUBJECT, 'Changed')
  assert.equal(await call(b24, 'crm.activity.delete', { id }), true)
})

async function addMany (b24, n) {
  const calls = {}
  for (let i = 0; i < n; i++) calls[`a${i}`] = { method: 'crm.activity.add', params: { fields: { ...CALL, SUBJECT: `Bulk ${i}` } } }
  const answer = await b24.actions.v2.batch.make({ calls, options: { isHaltOnError: true } })
  assert.ok(answer.isSuccess)
}

test('list paging', async () => {
  const b24 = client()
  await addMany(b24, 45)
  await addMany(b24, 30)
  const params = { filter: { '%SUBJECT': 'Bulk', OWNER_TYPE_ID: 2 }, order: { ID: 'DESC' }, select: ['ID', 'SUBJECT'] }
  // getNext / fetchNext on the AjaxResult (start/next paging, pages of 50)
  const first = await b24.actions.v2.call.make({ method: 'crm.activity.list', params })
  assert.ok(first.isSuccess)
  assert.equal(first.getTotal(), 75)
  assert.equal(first.isMore(), true)
  assert.equal(first.getData().result.length, 50)
  assert.deepEqual(Object.keys(first.getData().result[0]).sort(), ['ID', 'SUBJECT'])
  const ids = first.getData().result.map(r => Number(r.ID))
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a)) // order DESC honoured
  const second = await first.getNext(b24.getHttpClient(ApiVersion.v2))
  assert.ok(second && second.isSuccess)
  assert.equal(second.getData().result.length, 25)
  assert.equal(second.isMore(), false)
  // callList: every row in one array
  const all = await b24.actions.v2.callList.make({ method: 'crm.activity.list', params })
  assert.ok(all.isSuccess)
  assert.equal(all.getData().length, 75)
  // fetchList: an async generator of chunks, keyed by ID (it sets its own order and >ID filter)
  let seen = 0
  const { order, ...noOrder } = params
  for await (const chunk of b24.actions.v2.fetchList.make({ method: 'crm.activity.list', params: noOrder, idKey: 'ID' })) {
    seen += chunk.length
  }
  assert.equal(seen, 75)
})

test('batch references', async () => {
  const b24 = client()
  const answer = await b24.actions.v2.batch.make({
    calls: {
      add: { method: 'crm.activity.add', params: { fields: { ...CALL, SUBJECT: 'Batched' } } },
      get: { method: 'crm.activity.get', params: { id: '$result[add]' } }
    },
    options: { isHaltOnError: true, returnAjaxResult: true }
  })
  assert.ok(answer.isSuccess)
  const data = answer.getData()
  assert.equal(data.get.getData().result.SUBJECT, 'Batched')
  assert.equal(data.get.getData().result.ID, String(data.add.getData().result))
})

test('pinned: a failed batch command is reported as success', async () => {
  const b24 = client()
  const answer = await b24.actions.v2.batch.make({
    calls: { bad: { method: 'crm.activity.get', params: { id: 999999 } }, me: { method: 'user.current' } },
    options: { isHaltOnError: false, returnAjaxResult: true }
  })
  assert.ok(answer.isSuccess)
  const data = answer.getData()
  // the portal put "Activity is not found" into result_error[bad]; the SDK shows a success without data
  assert.equal(data.bad.isSuccess, true)
  assert.equal(data.me.getData().result.ID, '1')
  const halted = await b24.actions.v2.batch.make({
    calls: { bad: { method: 'crm.activity.get', params: { id: 999999 } }, me: { method: 'user.current' } },
    options: { isHaltOnError: true, returnAjaxResult: true }
  })
  assert.ok(halted.isSuccess) // halt=1: the portal stopped after "bad"; the SDK still calls it a success
  assert.deepEqual(Object.keys(halted.getData()), ['bad'])
})

test('pinned: a legacy error envelope loses its words', async () => {
  const b24 = client()
  await assert.rejects(
    b24.actions.v2.call.make({ method: 'crm.activity.get', params: { id: 999999 } }),
    (error) => {
      // HTTP 400 {"error": "", "error_description": "Activity is not found"}: the empty code is dropped
      assert.equal(error.status ?? error._status, 400)
      assert.ok(!String(error.message).includes('Activity is not found'), error.message)
      return true
    }
  )
})

test('pinned: a numeric error code is dropped, a string one kept', async () => {
  const b24 = client()
  const missing = { method: 'crm.activity.todo.add', params: { ownerTypeId: 2 } }
  await assert.rejects(b24.actions.v2.call.make(missing), (error) => {
    assert.equal(error.code, 'ERR_BAD_REQUEST') // {"error": 100, …}: not a string, so the SDK ignores it
    return true
  })
  await control('settings', { required_code_as_string: true }) // the disputed variant (sandbox switch)
  await assert.rejects(b24.actions.v2.call.make(missing), (error) => {
    assert.equal(error.code, '100')
    assert.match(error.message, /ownerId/)
    return true
  })
})

test('todo and bindings', async () => {
  const b24 = client()
  const { id } = await call(b24, 'crm.activity.todo.add', TODO)
  const where = { id, ownerTypeId: 2, ownerId: 1 }
  assert.deepEqual(await call(b24, 'crm.activity.todo.updateColor', { ...where, colorId: 3 }), { id })
  await call(b24, 'crm.activity.todo.updateDeadline', { ...where, value: '2030-02-01T10:00:00+00:00' })
  assert.equal(await call(b24, 'crm.activity.binding.add', { activityId: id, entityTypeId: 3, entityId: 1 }), true)
  const bindings = await call(b24, 'crm.activity.binding.list', { activityId: id })
  assert.deepEqual(bindings.map(b => `${b.entityTypeId}/${b.entityId}`).sort(), ['2/1', '3/1'])
  assert.equal(await call(b24, 'crm.activity.binding.delete', { activityId: id, entityTypeId: 3, entityId: 1 }), true)
})

test('layout blocks', async () => {
  const b24 = client()
  const { id } = await call(b24, 'crm.activity.todo.add', TODO)
  const where = { entityTypeId: 2, entityId: 1, activityId: id }
  const layout = { blocks: { t: { type: 'text', properties: { value: 'From the JS SDK', bold: true } } } }
  assert.deepEqual(await call(b24, 'crm.activity.layout.blocks.set', { ...where, layout }), { success: true })
  const got = await call(b24, 'crm.activity.layout.blocks.get', where)
  assert.equal(got.layout.blocks.t.properties.bold, true)
  assert.deepEqual(await call(b24, 'crm.activity.layout.blocks.delete', where), { success: true })
})

test('configurable activity and badges', async () => {
  const b24 = client()
  const layout = {
    icon: { code: 'call-completed' },
    header: { title: 'From the JS SDK' },
    body: { logo: { code: 'call-incoming' }, blocks: { t: { type: 'text', properties: { value: 'x' } } } }
  }
  const added = await call(b24, 'crm.activity.configurable.add', { ownerTypeId: 2, ownerId: 1, fields: {}, layout })
  const got = await call(b24, 'crm.activity.configurable.get', { id: added.activity.id })
  assert.equal(got.activity.layout.header.title, 'From the JS SDK')
  await call(b24, 'crm.activity.badge.add', { code: 'jssdk', title: 'JS', value: 'Seen', type: 'success' })
  const badges = await call(b24, 'crm.activity.badge.list')
  assert.ok(badges.badges.some(b => b.code === 'jssdk'))
})

test('503 is retried', async () => {
  const b24 = client()
  await control('faults', { kind: 'status', status: 503, count: 1, method: 'user.current' })
  assert.equal((await call(b24, 'user.current')).ID, '1')
})

test('429 surfaces as OPERATION_TIME_LIMIT', async () => {
  const b24 = client({ maxRetries: 1 }) // by default the SDK waits at least 10 s before its next attempt
  await control('faults', { kind: 'status', status: 429, count: 1, method: 'user.current' })
  await assert.rejects(
    b24.actions.v2.call.make({ method: 'user.current', params: {} }),
    (error) => { assert.equal(error.code, 'OPERATION_TIME_LIMIT'); assert.equal(error.status ?? error._status, 429); return true }
  )
})

test('expired token is refreshed', async () => {
  const b24 = client()
  const refreshed = []
  b24.setCallbackRefreshAuth(async ({ authData }) => { refreshed.push(authData.access_token) })
  assert.equal((await call(b24, 'user.current')).ID, '1')
  await control('tokens/expire', {})
  assert.equal((await call(b24, 'user.current')).ID, '1')
  assert.equal(refreshed.length, 1)
  assert.notEqual(refreshed[0], cfg.auth.accessToken)
})
