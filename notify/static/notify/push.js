/* Page script of django-notify-kit: a control that turns desktop notifications on and off. */
(function () {
  'use strict';

  const root = document.querySelector('[data-notify-push]');
  if (!root) return;
  const button = root.querySelector('[data-notify-push-toggle]');
  const status = root.querySelector('[data-notify-push-status]');
  let config = null;
  let registration = null;

  function keyBytes(base64url) {
    const padded = (base64url + '='.repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function sameKey(subscription, key) {
    const current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return true;
    const bytes = new Uint8Array(current);
    return bytes.length === key.length && bytes.every((b, i) => b === key[i]);
  }

  function render(on, text) {
    root.dataset.state = on ? 'on' : 'off';
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    button.textContent = on ? button.dataset.labelOff : button.dataset.labelOn;
    status.textContent = text || '';
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': config.csrfToken},
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  async function enable() {
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      render(false, 'This browser blocks notifications from this site.');
      return;
    }
    const key = keyBytes(config.publicKey);
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription, key)) {
      await subscription.unsubscribe();  /* the site has new keys */
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key});
    }
    await post(config.subscribeUrl, subscription.toJSON());
    render(true, 'Desktop notifications are on.');
  }

  async function disable() {
    const subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      const endpoint = subscription.endpoint;
      await subscription.unsubscribe();
      await post(config.unsubscribeUrl, {endpoint}).catch(() => null);  /* already gone on the server */
    }
    render(false, 'Desktop notifications are off.');
  }

  async function toggle() {
    button.disabled = true;
    try {
      await (root.dataset.state === 'on' ? disable() : enable());
    } catch (error) {
      status.textContent = 'Could not change desktop notifications: ' + error.message;
    } finally {
      button.disabled = false;
    }
  }

  async function start() {
    if (!('serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window)) return;
    const response = await fetch(root.dataset.configUrl, {credentials: 'same-origin'});
    config = await response.json();
    if (!config.enabled || !config.signedIn) return;
    await navigator.serviceWorker.register(root.dataset.swUrl, {scope: '/'});
    registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.getSubscription();
    if (subscription && Notification.permission === 'granted') {
      /* Tell the server again: the row is updated and belongs to whoever is signed in now. */
      await post(config.subscribeUrl, subscription.toJSON());
      render(true, '');
    } else {
      render(false, '');
    }
    button.addEventListener('click', toggle);
    root.hidden = false;
    root.dataset.ready = 'true';
  }

  start().catch((error) => {
    status.textContent = 'Desktop notifications are not available: ' + error.message;
  });
})();
