// The dashboard's only script (no build step): "select all" boxes, and the Telegram Mini App's sign-in.
document.addEventListener("DOMContentLoaded", () => {
  for (const all of document.querySelectorAll("input.all")) {
    all.addEventListener("change", () => {
      for (const box of all.closest("form").querySelectorAll("input[name=volunteer]")) box.checked = all.checked;
    });
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
