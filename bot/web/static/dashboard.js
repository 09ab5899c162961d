// The dashboard's only script (no build step): "select all" boxes, and the Telegram Mini App's sign-in.
document.addEventListener("DOMContentLoaded", () => {
  for (const all of document.querySelectorAll("input.all")) {
    all.addEventListener("change", () => {
      for (const box of all.closest("form").querySelectorAll("input[name=volunteer]")) box.checked = all.checked;
    });
  }
  // A campaign being sent: its progress arrives as Server-Sent Events until it is done or cancelled.
  const box = document.getElementById("progress");
  if (box && box.dataset.events) {
    const words = JSON.parse(box.dataset.statusWords || "{}");
    const source = new EventSource(box.dataset.events);
    source.onmessage = (event) => {
      const p = JSON.parse(event.data);
      box.querySelector("progress").value = p.percent;
      box.querySelector(".percent").textContent = p.percent + "%";
      for (const key of ["total", "sent", "failed", "blocked"]) box.querySelector("." + key).textContent = p[key];
      box.querySelector(".status").textContent = words[p.status] || p.status;
      if (p.status === "done" || p.status === "cancelled") {
        source.close();
        const controls = document.getElementById("controls");
        if (controls) controls.hidden = true;  // nothing left to pause or cancel
      }
    };
  }
  // Telegram opens a Mini App with its signed initData in the address's fragment (#tgWebAppData=...);
  // the server checks the signature, so this only passes it on.
  const form = document.getElementById("mini-app");
  if (form) {
    const data = new URLSearchParams(location.hash.slice(1)).get("tgWebAppData");
    if (data) {
      form.querySelector("input[name=init_data]").value = data;
      form.submit();
    }
  }
});
