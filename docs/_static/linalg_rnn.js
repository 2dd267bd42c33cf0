// linalg_rnn site: a lesson's figures open at full size when clicked or tapped
// (on a phone a three-panel figure is otherwise too small to read).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("img.sphx-glr-single-img, img.sphx-glr-multi-img").forEach((img) => {
    if (img.closest("a")) return;
    const link = document.createElement("a");
    link.href = img.currentSrc || img.src;
    link.className = "figure-zoom";
    link.title = "Open the figure at full size";
    img.parentNode.insertBefore(link, img);
    link.appendChild(img);
  });
});
