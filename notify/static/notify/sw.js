/* Service worker of django-notify-kit: show pushed notification messages on the desktop. */
'use strict';

const CONFIG_URL = new URL('config/', self.location).href;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

/* Return the message of a push event: {subject, body, url, id}. */
function readPush(event) {
  const message = {subject: 'New notification', body: '', url: '/', id: null};
  if (!event.data) return message;
  try {
    return Object.assign(message, event.data.json());
  } catch (error) {
    message.body = event.data.text();
    return message;
  }
}

/* Return an absolute URL on this site (a pushed URL elsewhere falls back to the site root). */
function siteUrl(url) {
  const target = new URL(url || '/', self.location.origin);
  return target.origin === self.location.origin ? target.href : new URL('/', self.location.origin).href;
}

self.addEventListener('push', (event) => {
  const message = readPush(event);
  const options = {
    body: message.body,
    data: {url: siteUrl(message.url), id: message.id},
  };
  if (message.id !== null && message.id !== undefined) options.tag = 'notify-message-' + message.id;  // the live page uses the same tag
  event.waitUntil(self.registration.showNotification(message.subject, options));
});

/* Focus a page of the site showing the URL, else bring another page of the site to it, else open it. */
async function openTarget(url) {
  const href = siteUrl(url);
  const windows = await self.clients.matchAll({type: 'window', includeUncontrolled: true});
  const same = windows.find((client) => client.url === href);
  if (same) return same.focus();
  for (const client of windows) {
    if (new URL(client.url).origin !== self.location.origin) continue;
    try {
      const navigated = await client.navigate(href);  /* only pages this worker controls */
      if (!navigated) continue;
      await navigated.focus().catch(() => null);
      return navigated;
    } catch (error) {
      continue;
    }
  }
  return self.clients.openWindow(href);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openTarget(event.notification.data && event.notification.data.url));
});

function keyBytes(base64url) {
  const padded = (base64url + '='.repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/* The browser replaced or dropped the subscription: subscribe again and tell the server. */
async function resubscribe(oldSubscription, newSubscription) {
  const config = await (await fetch(CONFIG_URL, {credentials: 'same-origin'})).json();
  if (!config.enabled || !config.signedIn) return;
  const subscription = newSubscription || await self.registration.pushManager.subscribe({
    userVisibleOnly: true, applicationServerKey: keyBytes(config.publicKey),
  });
  const body = subscription.toJSON();
  if (oldSubscription) body.oldEndpoint = oldSubscription.endpoint;
  await fetch(config.subscribeUrl, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRFToken': config.csrfToken},
    body: JSON.stringify(body),
  });
}

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
});
