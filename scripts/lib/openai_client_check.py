"""Checks that the official `openai` Python client works unchanged against `rlhf serve`
(called by scripts/load-test when the package is installed)."""
import argparse
import sys

import openai


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", default="none")
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.url + "/v1", api_key=args.api_key, max_retries=0)

    models = client.models.list()
    model = models.data[0].id
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]

    chat = client.chat.completions.create(model=model, messages=messages, max_tokens=16, temperature=0, seed=1)
    assert chat.object == "chat.completion" and chat.choices[0].message.role == "assistant", chat
    assert chat.choices[0].finish_reason in ("stop", "length"), chat
    assert chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens, chat.usage

    pieces, finish = [], None
    stream = client.chat.completions.create(model=model, messages=messages, max_tokens=16, temperature=0, seed=1,
                                            stream=True, stream_options={"include_usage": True})
    usage = None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces) == chat.choices[0].message.content, ("".join(pieces), chat.choices[0].message.content)
    assert finish == chat.choices[0].finish_reason and usage is not None

    completion = client.completions.create(model=model, prompt=["Once upon a time", "The sky"], max_tokens=8, n=2,
                                           stop=["\n"])
    assert len(completion.choices) == 4 and sorted(c.index for c in completion.choices) == [0, 1, 2, 3], completion
    text = "".join(c.choices[0].text for c in client.completions.create(
        model=model, prompt="Once upon a time", max_tokens=8, temperature=0, stream=True))
    assert text == client.completions.create(model=model, prompt="Once upon a time", max_tokens=8,
                                             temperature=0).choices[0].text

    for bad, expected in [(dict(model="no-such-model"), openai.NotFoundError),
                          (dict(model=model, max_tokens=10**7), openai.BadRequestError),
                          (dict(model=model, temperature=5), openai.BadRequestError)]:
        try:
            client.chat.completions.create(messages=messages, **bad)
        except expected as error:
            assert error.body and "message" in error.body, error.body
        else:
            sys.exit(f"expected {expected.__name__} for {bad}")
    print(f"openai {openai.__version__} client: models, chat (plain and streamed), completions, errors: ok "
          f"(reply: {chat.choices[0].message.content!r})")


if __name__ == "__main__":
    main()
