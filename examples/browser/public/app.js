// The demo page's script: plain JavaScript, no build step. It never sees the token: the server
// sets it as an HttpOnly cookie, and the browser attaches it to every request to this origin.

const $ = (id) => document.getElementById(id)

/** What each jwt-gate reason means for the person in front of the page. */
const HINTS = {
  no_token: 'No token: you are signed out. Sign in first.',
  expired: 'Your token has expired. Sign in again.',
  revoked: 'This token was revoked (signed out). Sign in again.',
  insufficient_scope: 'Your token lacks the scope this call needs. Sign in again with it.',
  csrf: 'Refused as a cross-site request: only this origin may change state with the cookie.',
  bad_signature: 'The token is not signed by a key the API trusts.',
}

/** Call the API from this page; the browser adds the cookie (same origin). */
async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} }
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  let response
  try {
    response = await fetch(path, init)
  } catch (error) {
    return { method, path, status: 0, statusText: String(error), json: undefined, text: '' }
  }
  const text = await response.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return {
    method,
    path,
    status: response.status,
    statusText: response.statusText,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    json,
    text,
  }
}

/** Show one API answer: status, RFC 6750 error code, reason, message and the challenge. */
function show(result) {
  const ok = result.status >= 200 && result.status < 300
  const json = result.json ?? {}
  $('result').dataset.outcome = ok ? 'ok' : 'error'
  $('result').dataset.status = String(result.status)
  $('result-status').textContent =
    `${result.method} ${result.path} → ${result.status} ${result.statusText}`
  $('result-error').textContent = ok ? '—' : (json.error ?? '—')
  $('result-reason').textContent = ok ? '—' : (json.reason ?? '—')
  $('result-message').textContent = ok ? '—' : (json.message ?? result.text ?? '—')
  $('result-www-authenticate').textContent = result.wwwAuthenticate ?? '(none)'
  $('result-hint').textContent = ok ? '' : (HINTS[json.reason] ?? '')
  $('result-body').textContent = result.json ? JSON.stringify(result.json, null, 2) : result.text

  const item = document.createElement('li')
  item.className = ok ? 'ok' : 'error'
  item.textContent = `${new Date().toLocaleTimeString()} ${result.method} ${result.path} → ${
    result.status
  }${ok ? '' : ` ${json.error ?? ''}${json.reason ? ` (${json.reason})` : ''}`}`
  $('history').prepend(item)
  showDocumentCookie()
}

function showSession(text, state) {
  $('session').textContent = text
  $('session').dataset.state = state
}

function showDocumentCookie() {
  $('document-cookie').textContent = document.cookie === '' ? '(empty)' : document.cookie
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  const result = await call('POST', '/login', {
    user: String(form.get('user') ?? ''),
    scopes: form.getAll('scope').map(String),
  })
  show(result)
  if (result.status === 200) {
    const { sub, scope, expiresAt, cookie } = result.json
    showSession(
      `Signed in as ${sub} (scopes: ${scope || 'none'}). The token is in the ${
        cookie.httpOnly ? 'HttpOnly' : ''
      } cookie "${cookie.name}" until ${new Date(expiresAt).toLocaleTimeString()}.`,
      'signed-in',
    )
  }
})

$('get-me').addEventListener('click', async () => {
  const result = await call('GET', '/api/me')
  show(result)
  if (result.status === 200) {
    // Keep the richer line sign-in wrote, unless the page did not know it was signed in.
    if ($('session').dataset.state !== 'signed-in') {
      showSession(
        `Signed in as ${result.json.sub} (scopes: ${result.json.scope || 'none'}).`,
        'signed-in',
      )
    }
  } else if (result.status === 401) {
    showSession('Not signed in.', 'signed-out')
  }
})

$('get-orders').addEventListener('click', async () => {
  show(await call('GET', '/api/orders'))
})

$('post-order').addEventListener('click', async () => {
  show(await call('POST', '/api/orders', { item: '☕ flat white' }))
})

$('sign-out').addEventListener('click', async () => {
  const result = await call('POST', '/logout')
  show(result)
  if (result.status === 200) {
    showSession(
      result.json.revoked
        ? 'Signed out: the token was revoked on the server and the cookie cleared.'
        : 'Signed out: the cookie was cleared.',
      'signed-out',
    )
  }
})

// On load: find out whether the cookie still holds a valid token.
showDocumentCookie()
call('GET', '/api/me').then((result) => {
  if (result.status === 200) {
    showSession(
      `Signed in as ${result.json.sub} (scopes: ${result.json.scope || 'none'}).`,
      'signed-in',
    )
  }
})
