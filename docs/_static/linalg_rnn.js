// linalg_rnn site: every figure opens at full size when clicked or tapped
// (on a phone a many-panel figure is otherwise too small to read), and on a
// phone the wide data tables become one card per row, each value labelled.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("article img").forEach((img) => {
    if (img.closest("a")) return;
    const link = document.createElement("a");
    link.href = img.currentSrc || img.src;
    link.className = "figure-zoom";
    link.title = "Open the figure at full size";
    img.parentNode.insertBefore(link, img);
    link.appendChild(img);
  });
  document.querySelectorAll("table.stack-on-phone").forEach((table) => {
    const heads = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((row) => {
      Array.from(row.children).forEach((cell, i) => cell.setAttribute("data-label", heads[i] || ""));
    });
  });
});
