extension Pages {
    /// `/label`: rank a prompt's responses best → worst (drag, or keys), optionally write a better
    /// response, submit. Backed by `/api/label/*` (see `LabelService`).
    ///
    /// Keys: ↑/↓ move the focus, Shift+↑/↓ (or k/j) move the focused response, 1–9 focus a
    /// response, Ctrl+Enter submits.
    public static let label = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>swift-rlhf ranking</title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 0; background: #f5f5f7; color: #1d1d1f; }
          header { background: #1d1d1f; color: #fff; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
          header a { color: #9cf; }
          header input { width: 9rem; }
          main { max-width: 52rem; margin: 0 auto; padding: 1rem; }
          #prompt { background: #fff; border-left: 4px solid #0a84ff; padding: .8rem; white-space: pre-wrap; }
          ol#responses { list-style: none; padding: 0; counter-reset: rank; }
          ol#responses li { counter-increment: rank; background: #fff; border: 1px solid #ccc; border-radius: .5rem;
            margin: .4rem 0; padding: .6rem .8rem .6rem 3rem; position: relative; white-space: pre-wrap; cursor: grab; }
          ol#responses li::before { content: counter(rank); position: absolute; left: .8rem; top: .55rem; font-weight: bold;
            color: #0a84ff; }
          ol#responses li:focus { outline: 3px solid #0a84ff; }
          ol#responses li.dragging { opacity: .4; }
          .hint { color: #666; font-size: .85rem; }
          textarea { width: 100%; font: inherit; min-height: 4rem; box-sizing: border-box; }
          button { font: inherit; padding: .5rem 1rem; }
          #status { margin-left: 1rem; }
          .error { color: #c00; }
          #custom { display: none; gap: .5rem; margin: 1rem 0; }
          #custom input { flex: 1; font: inherit; padding: .4rem; }
        </style>
        </head>
        <body>
        <header>
          <strong>swift-rlhf · ranking</strong>
          <label>labeler <input id="labeler" placeholder="your name"></label>
          <label>API key <input id="api-key" type="password" placeholder="(none)"></label>
          <span id="stats"></span>
          <a href="/">chat →</a>
        </header>
        <main>
          <div id="custom"><input id="custom-prompt" placeholder="Type a prompt to sample responses for"><button id="sample">Sample</button></div>
          <h3>Prompt</h3>
          <div id="prompt">…</div>
          <h3>Responses, best first</h3>
          <p class="hint">Drag to reorder, or: ↑/↓ choose a response, Shift+↑/↓ (or k/j) move it, 1–9 jump; Ctrl+Enter submits.</p>
          <ol id="responses"></ol>
          <h3>A better response (optional)</h3>
          <textarea id="demonstration" placeholder="Write the response you would have wanted"></textarea>
          <p><button id="submit" disabled>Submit ranking</button><span id="status"></span></p>
        </main>
        <script>
        const $ = (id) => document.getElementById(id);
        let task = null;
        $("labeler").value = localStorage.getItem("rlhf-labeler") || "";
        $("api-key").value = localStorage.getItem("rlhf-api-key") || "";
        $("labeler").addEventListener("change", () => { localStorage.setItem("rlhf-labeler", $("labeler").value.trim()); next(); });
        $("api-key").addEventListener("change", () => { localStorage.setItem("rlhf-api-key", $("api-key").value.trim()); next(); });

        function headers() {
          const h = { "Content-Type": "application/json" };
          const key = $("api-key").value.trim();
          if (key) h["Authorization"] = "Bearer " + key;
          return h;
        }
        function status(text, isError) { $("status").textContent = text; $("status").className = isError ? "error" : ""; }

        async function api(path, body) {
          const r = await fetch(path, body === undefined ? { headers: headers() }
                                                         : { method: "POST", headers: headers(), body: JSON.stringify(body) });
          const json = await r.json();
          if (!r.ok) throw new Error(json.error ? json.error.message : r.statusText);
          return json;
        }

        function show(newTask, message) {
          task = newTask;
          const list = $("responses");
          list.innerHTML = "";
          $("demonstration").value = "";
          if (!task) {
            $("prompt").textContent = message || "Nothing to rank.";
            $("custom").style.display = "flex";
            $("submit").disabled = true;
            return;
          }
          $("prompt").textContent = task.prompt;
          task.responses.forEach((text, index) => {
            const li = document.createElement("li");
            li.textContent = text === "" ? "(empty response)" : text;
            li.dataset.index = index;
            li.tabIndex = 0;
            li.draggable = true;
            list.appendChild(li);
          });
          $("submit").disabled = false;
          const first = list.querySelector("li");
          if (first) first.focus();
        }

        async function next() {
          const labeler = $("labeler").value.trim();
          if (!labeler) { show(null, "Enter your labeler name above to start."); return; }
          try {
            const reply = await api("/api/label/next?labeler=" + encodeURIComponent(labeler));
            show(reply.task || null, reply.message);
          } catch (e) { show(null, ""); status(e.message, true); }
          refreshStats();
        }

        async function refreshStats() {
          try {
            const s = await api("/api/label/stats");
            $("stats").textContent = s.judgements + " judgements · " + s.labelers + " labelers";
          } catch (e) { $("stats").textContent = ""; }
        }

        function ranking() { return [...$("responses").children].map((li) => parseInt(li.dataset.index, 10)); }

        async function submit() {
          if (!task) return;
          const labeler = $("labeler").value.trim();
          if (!labeler) { status("Enter your labeler name first.", true); return; }
          $("submit").disabled = true;
          try {
            const saved = await api("/api/label/judgements", {
              prompt: task.prompt, responses: task.responses, ranking: ranking(), labeler: labeler,
              demonstration: $("demonstration").value, source: task.source,
            });
            status("Saved #" + saved.id + ".");
            await next();
          } catch (e) { status(e.message, true); $("submit").disabled = false; }
        }

        // Keyboard ranking.
        $("responses").addEventListener("keydown", (e) => {
          const li = document.activeElement;
          if (!li || li.parentElement !== $("responses")) return;
          const up = e.key === "ArrowUp" || e.key === "k", down = e.key === "ArrowDown" || e.key === "j";
          const move = e.shiftKey || e.key === "k" || e.key === "j";
          if (up && move && li.previousElementSibling) { li.parentElement.insertBefore(li, li.previousElementSibling); li.focus(); }
          else if (down && move && li.nextElementSibling) { li.parentElement.insertBefore(li.nextElementSibling, li); li.focus(); }
          else if (up && li.previousElementSibling) li.previousElementSibling.focus();
          else if (down && li.nextElementSibling) li.nextElementSibling.focus();
          else return;
          e.preventDefault();
        });
        document.addEventListener("keydown", (e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); return; }
          if (e.target.tagName === "TEXTAREA" || e.target.tagName === "INPUT") return;
          const n = parseInt(e.key, 10);
          if (n >= 1 && n <= 9 && $("responses").children[n - 1]) $("responses").children[n - 1].focus();
        });

        // Drag and drop ranking.
        let dragged = null;
        $("responses").addEventListener("dragstart", (e) => { dragged = e.target; e.target.classList.add("dragging"); });
        $("responses").addEventListener("dragend", (e) => { e.target.classList.remove("dragging"); dragged = null; });
        $("responses").addEventListener("dragover", (e) => {
          e.preventDefault();
          const over = e.target.closest("li");
          if (!dragged || !over || over === dragged) return;
          const box = over.getBoundingClientRect();
          const after = e.clientY > box.top + box.height / 2;
          $("responses").insertBefore(dragged, after ? over.nextSibling : over);
        });

        $("submit").addEventListener("click", submit);
        $("sample").addEventListener("click", async () => {
          const prompt = $("custom-prompt").value.trim();
          if (!prompt) return;
          status("Sampling…");
          try { const reply = await api("/api/label/sample", { prompt: prompt }); show(reply.task); status(""); }
          catch (e) { status(e.message, true); }
        });
        next();
        </script>
        </body>
        </html>
        """#
}
