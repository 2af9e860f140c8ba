// Fetches a short-lived JSON document through the edge node and shows how it was served.
(async function () {
  const target = document.getElementById('time');
  try {
    const response = await fetch('/api/time');
    const body = await response.json();
    target.textContent = JSON.stringify(body, null, 2) +
      '\nX-Cache: ' + response.headers.get('X-Cache') +
      '\nAge: ' + response.headers.get('Age');
  } catch (error) {
    target.textContent = 'could not fetch /api/time: ' + error;
  }
})();
