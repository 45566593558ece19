/// The HTML pages, served as they are (no build step, no external assets).
public enum Pages {}

extension Pages {
    /// `/`: a chat with the served model, streaming from `/v1/chat/completions`.
    public static let chat = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>swift-rlhf chat</title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 0; background: #f5f5f7; color: #1d1d1f; }
          header { background: #1d1d1f; color: #fff; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
          header a { color: #9cf; }
          header label { font-size: .85rem; }
          header input { width: 5rem; }
          main { max-width: 50rem; margin: 0 auto; padding: 1rem; }
          #log { display: flex; flex-direction: column; gap: .6rem; min-height: 50vh; }
          .msg { padding: .6rem .8rem; border-radius: .6rem; white-space: pre-wrap; max-width: 85%; }
          .user { background: #0a84ff; color: #fff; align-self: flex-end; }
          .assistant { background: #fff; border: 1px solid #ddd; align-self: flex-start; }
          .system { background: #fff8d6; align-self: center; font-size: .9rem; }
          .error { background: #ffd6d6; align-self: center; }
          form { display: flex; gap: .5rem; margin-top: 1rem; }
          textarea { flex: 1; font: inherit; padding: .5rem; min-height: 3rem; }
          button { font: inherit; padding: .5rem 1rem; }
        </style>
        </head>
        <body>
        <header>
          <strong>swift-rlhf</strong> <span id="model">…</span>
          <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8"></label>
          <label>max tokens <input id="max-tokens" type="number" min="1" value="128"></label>
          <label>API key <input id="api-key" type="password" placeholder="(none)"></label>
          <button id="reset" type="button">New chat</button>
          <a href="/label">ranking page →</a>
        </header>
        <main>
          <details><summary>System prompt</summary><textarea id="system" rows="2" placeholder="You are a helpful assistant."></textarea></details>
          <div id="log"></div>
          <form id="form">
            <textarea id="input" placeholder="Say something (Enter to send, Shift+Enter for a new line)" autofocus></textarea>
            <button id="send">Send</button>
          </form>
        </main>
        <script>
        const $ = (id) => document.getElementById(id);
        let messages = [];
        let modelID = null;
        $("api-key").value = localStorage.getItem("rlhf-api-key") || "";
        $("api-key").addEventListener("change", () => { localStorage.setItem("rlhf-api-key", $("api-key").value); loadModel(); });

        function headers() {
          const h = { "Content-Type": "application/json" };
          const key = $("api-key").value.trim();
          if (key) h["Authorization"] = "Bearer " + key;
          return h;
        }

        function bubble(role, text) {
          const div = document.createElement("div");
          div.className = "msg " + role;
          div.textContent = text;
          $("log").appendChild(div);
          div.scrollIntoView({ block: "end" });
          return div;
        }

        async function loadModel() {
          try {
            const r = await fetch("/v1/models", { headers: headers() });
            const body = await r.json();
            if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
            modelID = body.data[0].id;
            $("model").textContent = modelID;
          } catch (e) { $("model").textContent = "(" + e.message + ")"; }
        }

        async function send(text) {
          const system = $("system").value.trim();
          messages.push({ role: "user", content: text });
          bubble("user", text);
          const out = bubble("assistant", "");
          $("send").disabled = true;
          let reply = "";
          try {
            const request = {
              model: modelID, stream: true,
              temperature: parseFloat($("temperature").value),
              max_tokens: parseInt($("max-tokens").value, 10),
              messages: (system ? [{ role: "system", content: system }] : []).concat(messages),
            };
            const r = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(request) });
            if (!r.ok) { const body = await r.json(); throw new Error(body.error.message); }
            const reader = r.body.getReader();
            const decoder = new TextDecoder();
            let buffer = "";
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buffer += decoder.decode(value, { stream: true });
              let cut;
              while ((cut = buffer.indexOf("\n\n")) >= 0) {
                const line = buffer.slice(0, cut).trim();
                buffer = buffer.slice(cut + 2);
                if (!line.startsWith("data: ")) continue;
                const data = line.slice(6);
                if (data === "[DONE]") continue;
                const chunk = JSON.parse(data);
                if (chunk.error) throw new Error(chunk.error.message);
                for (const choice of chunk.choices) {
                  if (choice.delta && choice.delta.content) { reply += choice.delta.content; out.textContent = reply; }
                  if (choice.finish_reason === "length") out.title = "stopped at max tokens";
                }
              }
            }
            messages.push({ role: "assistant", content: reply });
          } catch (e) {
            out.remove();
            messages.pop();
            bubble("error", e.message);
          } finally {
            $("send").disabled = false;
          }
        }

        $("form").addEventListener("submit", (e) => {
          e.preventDefault();
          const text = $("input").value.trim();
          if (!text || $("send").disabled) return;
          $("input").value = "";
          send(text);
        });
        $("input").addEventListener("keydown", (e) => {
          if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); }
        });
        $("reset").addEventListener("click", () => { messages = []; $("log").innerHTML = ""; });
        loadModel();
        </script>
        </body>
        </html>
        """#
}
