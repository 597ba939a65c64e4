// replay.js CHROMIUM INDEX FIRST SECOND: opens INDEX (a page embedding a
// WACZ with ReplayWeb.page) in headless Chromium, waits for the archived
// page FIRST to replay, reads its text, its body's computed colour and its
// image's natural width (loading INDEX again when the replay app's
// service worker has not taken the page in 20 s), follows its first link to SECOND, reads that
// page's text, and prints what it found as one JSON object.
// Run by cmd/trawl's TestReplayWACZ, with puppeteer-core on NODE_PATH.
const puppeteer = require("puppeteer-core");
const [chromium, index, first, second] = process.argv.slice(2);

(async () => {
  const out = { logs: [] };
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
  try {
    const page = await browser.newPage();
    page.on("console", m => out.logs.push(m.text()));
    await page.goto(index, { waitUntil: "load" });
    // The archived page replays in a frame of the replay app, at
    // …/<timestamp>mp_/<url>.
    const frameFor = async (url, ms) => {
      const end = Date.now() + ms;
      for (;;) {
        for (const f of page.frames()) {
          if (!f.url().includes("mp_/" + url)) continue;
          try {
            if (await f.evaluate(() => document.readyState === "complete" && document.body && document.body.innerText.length > 0)) return f;
          } catch (e) { /* navigating */ }
        }
        if (Date.now() > end) throw new Error("no replay of " + url + "; frames: " + page.frames().map(f => f.url()).join(" "));
        await new Promise(r => setTimeout(r, 100));
      }
    };
    // The service worker ReplayWeb.page installs on the first load may
    // take the page only after a reload (on a loaded machine, say): load
    // the index again when the archived page has not replayed in 20 s.
    let f0;
    for (let tries = 1; ; tries++) {
      try {
        f0 = await frameFor(first, 20000);
        break;
      } catch (e) {
        if (tries === 4) throw e;
        out.logs.push("no replay after 20 s: reloading (" + tries + ")");
        await page.reload({ waitUntil: "load" });
      }
    }
    Object.assign(out, await f0.evaluate(async () => {
      const im = document.querySelector("img");
      if (im && !im.complete) await new Promise(r => { im.onload = r; im.onerror = r; });
      return { text: document.body.innerText, color: getComputedStyle(document.body).color, imageWidth: im ? im.naturalWidth : -1 };
    }));
    await f0.evaluate(() => document.querySelector("a").click());
    const f1 = await frameFor(second, 60000);
    out.nextText = await f1.evaluate(() => document.body.innerText);
  } catch (e) {
    out.error = String(e);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})();
