#!/usr/bin/env python3
"""Writes Tests/TemplatesTests/Fixtures/{chat-templates,constructs}.json: chat templates of well-known
model formats and small construct templates, rendered by transformers' own jinja2 environment
(render_jinja_template / _compile_jinja_template), with their inputs and expected text or error.

Run with the developer venv:  /work/venv/bin/python scripts/make-template-fixtures.py
"""

# Chat templates of well-known model formats, as data. Each is a rendition of the public prompt
# format of that model family, written to exercise what real templates use: whitespace control,
# trim/lstrip of block tags on their own lines, namespace, loop.*, slicing, tojson, raise_exception,
# strftime_now, macros, generation blocks.

CHATML = r"""{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"""

QWEN25 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

QWEN3 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}"""

LLAMA31 = r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

LLAMA3 = r"""{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>

'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>

' }}{% endif %}"""

LLAMA2 = r"""{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"""

MISTRAL = r"""{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"""

GEMMA = r"""{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"""

GEMMA3 = r"""{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""

PHI3 = r"""{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>
' + message['content'] + '<|end|>
'}}{% elif message['role'] == 'user' %}{{'<|user|>
' + message['content'] + '<|end|>
'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>
' + message['content'] + '<|end|>
'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>
' }}{% else %}{{ eos_token }}{% endif %}"""

SMOLLM2 = r"""{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
' }}{% endif %}{{'<|im_start|>' + message['role'] + '
' + message['content'] + '<|im_end|>' + '
'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
' }}{% endif %}"""

ZEPHYR = r"""{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>
'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}"""

TINYLLAMA = r"""{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>
'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}
"""

DEEPSEEK_V2 = r"""{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '

' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] + '

' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"""

DEEPSEEK_R1 = r"""{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}{% if add_generation_prompt %}{{'<｜Assistant｜><think>\n'}}{% endif %}"""

# A ChatML template that marks assistant text with transformers' generation blocks.
CHATML_GENERATION = r"""{%- for message in messages %}
    {%- if message['role'] == 'assistant' %}
        {{- '<|im_start|>assistant\n' }}
        {%- generation %}
            {{- message['content'] + '<|im_end|>' }}
        {%- endgeneration %}
        {{- '\n' }}
    {%- else %}
        {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}"""

# Macros, call blocks, loop helpers and filters in one template (the style of tool-heavy templates).
MACROS = r"""{%- macro render_content(content, prefix='') -%}
    {%- if content is string -%}
        {{- prefix ~ content | trim -}}
    {%- else -%}
        {%- for part in content if part.type == 'text' -%}
            {{- prefix ~ part.text -}}{{- '' if loop.last else ' | ' -}}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro -%}
{%- macro turn(role) -%}
<|{{ role }}|>{{ caller() }}</|{{ role }}|>
{% endmacro -%}
{%- set roles = messages | map(attribute='role') | unique | list -%}
{#- a comment -#}
[roles: {{ roles | join(', ') }}; count={{ messages | length }}; users={{ messages | selectattr('role', 'equalto', 'user') | list | length }}]
{% for message in messages -%}
{% call turn(message.role | upper) %}{{ render_content(message.content, prefix=loop.index ~ '. ') }}{% endcall -%}
{%- endfor -%}
{%- if add_generation_prompt %}<|ASSISTANT|>{% endif -%}"""

TEMPLATES = {
    "chatml": CHATML,
    "qwen2.5": QWEN25,
    "qwen3": QWEN3,
    "llama3": LLAMA3,
    "llama3.1": LLAMA31,
    "llama2": LLAMA2,
    "mistral": MISTRAL,
    "gemma": GEMMA,
    "gemma3": GEMMA3,
    "phi3": PHI3,
    "smollm2": SMOLLM2,
    "zephyr": ZEPHYR,
    "tinyllama": TINYLLAMA,
    "deepseek-v2": DEEPSEEK_V2,
    "deepseek-r1": DEEPSEEK_R1,
    "chatml-generation": CHATML_GENERATION,
    "macros": MACROS,
}

SPECIAL_TOKENS = {
    "chatml": {"eos_token": "<|im_end|>"},
    "qwen2.5": {"eos_token": "<|im_end|>"},
    "qwen3": {"eos_token": "<|im_end|>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama3.1": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama2": {"bos_token": "<s>", "eos_token": "</s>"},
    "mistral": {"bos_token": "<s>", "eos_token": "</s>"},
    "gemma": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "gemma3": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "phi3": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "smollm2": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "zephyr": {"bos_token": "<s>", "eos_token": "</s>"},
    "tinyllama": {"bos_token": "<s>", "eos_token": "</s>"},
    "deepseek-v2": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "deepseek-r1": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "chatml-generation": {"eos_token": "<|im_end|>"},
    "macros": {},
}


# ---------------------------------------------------------------------------------------------
# Conversations

SYSTEM = {"role": "system", "content": "You are a terse assistant."}
BASIC = [
    SYSTEM,
    {"role": "user", "content": "Name a fox."},
    {"role": "assistant", "content": "The quick brown fox."},
    {"role": "user", "content": "Again, with {{ braces }} and {% tags %} and {# hashes #}."},
    {"role": "assistant", "content": "  Lazy dog!  "},
]
NO_SYSTEM = [
    {"role": "user", "content": "Hi 'there' \"friend\" \\ back\\slash\ttab"},
    {"role": "assistant", "content": "Hello!\nHow can I help?\n"},
]
PROMPT_ONLY = [{"role": "user", "content": "What is 2+2?"}]
SYSTEM_PROMPT = [SYSTEM, {"role": "user", "content": "Tell me a joke."}]
UNICODE = [
    {"role": "user", "content": "Grüße 🦊 — 你好 — ﬁ ß\u00a0nbsp"},
    {"role": "assistant", "content": "¡Hola! 👋 Ça va? Ω≈ç√ <|im_end|> literal"},
]
MULTI = [
    {"role": "user", "content": "one"},
    {"role": "assistant", "content": "two"},
    {"role": "user", "content": "three"},
    {"role": "assistant", "content": "four"},
    {"role": "user", "content": "five"},
    {"role": "assistant", "content": "six"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather in a city — \"quoted\" and ünïcode",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7.5},
                },
                "required": ["city"],
            },
        },
    }
]
TOOL_CONVERSATION = [
    {"role": "user", "content": "Weather in Zürich?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich", "days": 2, "ok": True, "x": None, "t": 1.5}}}
        ],
    },
    {"role": "tool", "content": "{\"temperature\": 21}"},
    {"role": "assistant", "content": "It is 21 °C."},
]
LLAMA_TOOL_CONVERSATION = [
    SYSTEM,
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": {"temperature": 18}},
    {"role": "assistant", "content": "18 degrees."},
]
REASONING = [
    {"role": "user", "content": "Think first: 2+3?"},
    {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\n5"},
    {"role": "user", "content": "And 4+4?"},
    {"role": "assistant", "content": "8", "reasoning_content": "Double four."},
]
PARTS = [
    {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " Describe this.  "}]},
    {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
]
ALTERNATION = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]

PREFILL = [
    {"role": "user", "content": "Write a haiku."},
    {"role": "assistant", "content": "Autumn moonlight—  "},
]
PREFILL_PARTS = [
    {"role": "user", "content": [{"type": "text", "text": "Describe."}]},
    {"role": "assistant", "content": [{"type": "text", "text": "It is"}, {"type": "image"}]},
]

COMMON = {
    "basic": BASIC,
    "no-system": NO_SYSTEM,
    "prompt-only": PROMPT_ONLY,
    "system-prompt": SYSTEM_PROMPT,
    "unicode": UNICODE,
    "multi-turn": MULTI,
}

# Extra cases per template: (conversation name, messages, keyword arguments).
SPECIFIC = {
    "qwen2.5": [("tools", TOOL_CONVERSATION, {"tools": TOOLS})],
    "qwen3": [
        ("tools", TOOL_CONVERSATION, {"tools": TOOLS}),
        ("reasoning", REASONING, {}),
        ("no-thinking", PROMPT_ONLY, {"enable_thinking": False}),
    ],
    "llama3.1": [
        ("tools", LLAMA_TOOL_CONVERSATION, {"tools": TOOLS}),
        ("date-string", SYSTEM_PROMPT, {"date_string": "01 Jan 2025"}),
        ("tools-in-system", LLAMA_TOOL_CONVERSATION, {"tools": TOOLS, "tools_in_user_message": False}),
    ],
    "gemma3": [("parts", PARTS, {}), ("continue-parts", PREFILL_PARTS, {"continue_final_message": True})],
    "chatml": [("continue", PREFILL, {"continue_final_message": True})],
    "llama3": [("continue", PREFILL, {"continue_final_message": True})],
    "zephyr": [("continue", PREFILL, {"continue_final_message": True})],
    "macros": [("parts", PARTS, {})],
    "mistral": [("alternation", ALTERNATION, {})],
    "llama2": [("alternation", ALTERNATION, {})],
    "gemma": [("alternation", ALTERNATION, {})],
}

# The clock behind strftime_now, as local date-time components.
NOW = [2024, 7, 26, 9, 30, 0]


def render_chat_cases():
    import datetime as real_datetime

    from transformers.utils import chat_template_utils

    class FixedDatetime(real_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(*NOW)

    chat_template_utils.datetime = FixedDatetime  # strftime_now reads the module's `datetime` when called
    cases = []
    for name, template in TEMPLATES.items():
        conversations = [(key, value, {}) for key, value in COMMON.items()] + SPECIFIC.get(name, [])
        for conversation, messages, kwargs in conversations:
            for add_generation_prompt in (False, True):
                kwargs = dict(kwargs)
                tools = kwargs.pop("tools", None)
                case = {
                    "name": f"{name}/{conversation}/{'prompt' if add_generation_prompt else 'plain'}",
                    "template": name,
                    "messages": messages,
                    "add_generation_prompt": add_generation_prompt,
                    "special_tokens": SPECIAL_TOKENS[name],
                    "extra": kwargs,
                }
                if tools is not None:
                    case["tools"] = tools
                continue_final = kwargs.pop("continue_final_message", False)
                if continue_final:
                    if add_generation_prompt:
                        continue
                    case["continue_final_message"] = True
                try:
                    rendered, _ = chat_template_utils.render_jinja_template(
                        conversations=[messages],
                        continue_final_message=continue_final,
                        tools=tools,
                        chat_template=template,
                        add_generation_prompt=add_generation_prompt,
                        **SPECIAL_TOKENS[name],
                        **kwargs,
                    )
                    case["expected"] = rendered[0]
                except Exception as error:  # the template raised: record its message
                    case["error"] = {"type": type(error).__name__, "message": str(error)}
                if "generation" in name and "error" not in case:
                    _, indices = chat_template_utils.render_jinja_template(
                        conversations=[messages],
                        chat_template=template,
                        add_generation_prompt=add_generation_prompt,
                        return_assistant_tokens_mask=True,
                        **SPECIAL_TOKENS[name],
                    )
                    text = case["expected"]
                    case["generation_spans"] = [
                        [len(text[:start].encode()), len(text[:end].encode())] for start, end in indices[0]
                    ]
                cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------
# Constructs: small templates with variables, rendered by transformers' jinja2 environment.

CONSTRUCTS = [
    # printing: Python's str() of values
    ("{{ 1 }}|{{ 1.0 }}|{{ 1.5e-7 }}|{{ 1e16 }}|{{ 2.5e15 }}|{{ true }}|{{ none }}|{{ 'a' }}", {}),
    ("{{ [1, 'a', none, true, 1.0, ['x']] }}|{{ {'k': 'v', 'n': 2} }}|{{ (1, 2) }}", {}),
    ("{{ \"it's\" }}|{{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'tab\\tnl\\n'] }}", {}),
    ("{{ x }}|{{ x is defined }}|{{ d.missing }}|{{ d['missing'] }}|{{ l[10] }}", {"d": {"a": 1}, "l": [1]}),
    ("{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }}", {}),
    ("{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 1 + 1.5 }} {{ -x }} {{ 3 - -2 }}", {"x": 4}),
    ("{{ 'a' ~ 1 ~ none ~ true ~ undefined_var ~ [1] }}", {}),
    ("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'b' }}", {}),
    ("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 1 not in [1] }}", {}),
    ("{{ true and 'x' }}|{{ 0 or 'y' }}|{{ not none }}|{{ none or [] }}|{{ 'a' and 0 }}", {}),
    ("{{ 'yes' if flag else 'no' }}|{{ 'only' if not flag }}|{{ 1 if false else 2 if true else 3 }}", {"flag": True}),
    # slicing and indexing
    ("{{ s[1:] }}|{{ s[::-1] }}|{{ s[-2:] }}|{{ s[1:4:2] }}|{{ l[1:] }}|{{ l[::-1] }}|{{ l[-1] }}|{{ s[0] }}|{{ l[:-1] }}|{{ s[5:1:-1] }}",
     {"s": "héllo🦊", "l": [1, 2, 3, 4]}),
    ("{{ m.role }} {{ m['content'] }} {{ m.get('role') }} {{ m.get('nope', 'dflt') }} {{ m.get('nope') }}", {"m": {"role": "user", "content": "hi"}}),
    # statements
    ("{% for x in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem }}/{{ loop.nextitem }};{% endfor %}", {"l": ["a", "b", "c"]}),
    ("{% for x in l if x > 1 %}{{ x }}:{{ loop.index }}:{{ loop.length }} {% else %}empty{% endfor %}|{% for x in [] %}x{% else %}none{% endfor %}", {"l": [1, 2, 3]}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("{% for x in l %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {"l": [1, 2, 3, 4, 5]}),
    ("{% for c in 'héy' %}[{{ c }}]{% endfor %}{% for x in undefined_thing %}never{% endfor %}", {}),
    ("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}", {}),
    ("{% set ns = namespace(total=0, items=[]) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (3, 4) %}{{ t[1] }}", {}),
    ("{% set block %}  inner {{ 1 + 1 }}  {% endset %}[{{ block }}]{% set up | upper %}shout{% endset %}{{ up }}", {}),
    ("{% if a %}A{% elif b %}B{% else %}C{% endif %}{% if not a and not b %}N{% endif %}", {"a": False, "b": 0}),
    ("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(name='Cy', punct='.') }}", {}),
    ("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 }}{% endcall %}", {}),
    ("{% filter upper %}quiet {{ 'words' }}{% endfilter %}", {}),
    ("{% raw %}{{ not rendered }} {% if %}{% endraw %}", {}),
    ("{# comment #}a{# another -#}   b", {}),
    # whitespace control with trim_blocks / lstrip_blocks
    ("  {% if true %}\n    yes\n  {% endif %}\nafter", {}),
    ("a  {%- if true -%}  b  {%- endif -%}  c", {}),
    ("a  {%+ if true +%}\n b\n  {%+ endif %}\nc", {}),
    ("x {{- ' y ' -}} z\n{{ 'w' }}\n  {{ 'v' }}", {}),
    ("line1\n    {# indented comment #}\nline2\n\t{% set q = 1 %}\nline3", {}),
    ("{% for i in [1, 2] %}\n  - {{ i }}\n{% endfor %}\n", {}),
    ("{% if true %}keep\n{% endif %}\n\nend\n", {}),
    ("a\r\nb\r{{ 'c' }}\r\n", {}),
    # tests
    ("{{ x is none }} {{ x is not none }} {{ u is undefined }} {{ 's' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 's' is sequence }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 1 is integer }} {{ 1.0 is float }}", {"x": None}),
    ("{{ true is true }} {{ 1 is true }} {{ false is false }} {{ true is boolean }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby(3) }} {{ 2 is in([1, 2]) }} {{ 'a' is eq('a') }} {{ 1 is sameas 1 }} {{ 'abc' is lower }} {{ 'ABC' is upper }}", {}),
    ("{{ 5 is gt(3) }} {{ 5 is lt 3 }} {{ 'x' is ne('y') }} {{ u is iterable }} {{ none is iterable }} {{ 1 is callable }} {{ range is callable }}", {}),
    # filters
    ("{{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'hello world' | upper }}|{{ 'HeLLo' | lower }}|{{ 'hello big-world (x)' | title }}|{{ 'hELLO wORLD' | capitalize }}", {}),
    ("{{ [1, 2, 3] | length }} {{ 'héllo' | length }} {{ {'a': 1} | length }} {{ u | length }} {{ [3, 1] | count }}", {}),
    ("{{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ [1, 2] | join(', ') }} {{ ['x', 'y'] | join }} {{ [{'n': 'a'}, {'n': 'b'}] | join('/', attribute='n') }}", {}),
    ("{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | first }} {{ [] | first }}|{{ u | default('dflt') }} {{ '' | default('empty', true) }} {{ none | default('x') }} {{ 0 | d('zero', boolean=true) }}", {}),
    ("{{ 3.7 | int }} {{ '42' | int }} {{ '4.9' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ '0x1A' | int(0, 16) }} {{ 2 | float }} {{ '2.5' | float }} {{ 'no' | float }} {{ true | int }}", {}),
    ("{{ -3 | abs }} {{ (-3.5) | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }} {{ 7 | round }}", {}),
    ("{{ 123 | string }}{{ none | string }}{{ [1] | string }} {{ 'ab' | list }} {{ {'a': 1, 'b': 2} | list }} {{ (1, 2) | list }}", {}),
    ("{{ users | map(attribute='name') | join(',') }} {{ ['a', 'B'] | map('upper') | list }} {{ users | map(attribute='age', default=0) | list }}", {"users": [{"name": "ann", "age": 3}, {"name": "bob"}]}),
    ("{{ [1, 0, 2, none] | select | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('even') | list }} {{ [1, 5, 9] | select('gt', 4) | list }}", {}),
    ("{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | list }} {{ ms | rejectattr('role', 'eq', 'user') | list | length }} {{ ms | selectattr('flag') | list | length }} {{ ms | selectattr('flag', 'defined') | list | length }}",
     {"ms": [{"role": "user", "c": 1, "flag": True}, {"role": "bot", "c": 2}, {"role": "user", "c": 3, "flag": False}]}),
    ("{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(reverse=true) }} {{ d | dictsort(by='value') }}", {"d": {"b": 2, "A": 3, "c": 1}}),
    ("{{ [3, 1, 2, 1] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ [3, 1, 2] | max }} {{ [3, 1, 2] | min }} {{ [1, 2, 3] | sum }} {{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }}", {}),
    ("{{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent('> ', blank=true) }}|{{ 'x' | indent(first=true) }}", {}),
    ("{{ '<a href=\"x\">&\\'</a>' | e }} {{ '<b>' | escape }} {{ '<i>' | safe }}", {}),
    ("{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 0) | list }}", {}),
    ("{{ obj | tojson }}", {"obj": {"s": "é \"q\" \\ \n \t \u0001 🦊 </script>", "n": 1, "f": 1.0, "g": 0.1, "b": True, "z": None, "l": [], "d": {}, "nested": [1, {"a": [2]}]}}),
    ("{{ obj | tojson(indent=2) }}|{{ obj | tojson(indent=0) }}|{{ obj | tojson(separators=(',', ':')) }}|{{ obj | tojson(sort_keys=true) }}|{{ obj | tojson(ensure_ascii=true) }}|{{ [] | tojson(indent=2) }}",
     {"obj": {"b": [1, {"x": "ü🦊"}], "a": {}, "c": "x"}}),
    ("{{ {'a': [1]} | tojson(indent=none, separators=none) }} {{ [1] | tojson(none, 1) }}", {}),
    ("{{ 'x' | tojson }} {{ 1.5 | tojson }} {{ none | tojson }} {{ [true, false] | tojson }} {{ 'x' | tojson(indent='\t') }} {{ {'k': [1]} | tojson(indent='--') }}", {}),
    ("{{ '%s and %d%%' | format('x', 3) }} {{ 'yes' | wordcount }}", {}),
    # string methods
    ("{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a\n\n'.rstrip('\n') }}|{{ 'ab'.startswith('a') }}|{{ 'ab'.endswith(('x', 'b')) }}|{{ 'ab'.upper() }}|{{ 'AB'.lower() }}|{{ \"they're bill's\".title() }}|{{ 'hello'.capitalize() }}", {}),
    ("{{ 'a,b,,c'.split(',') }} {{ ' a  b \n c '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'a b c'.rsplit(None, 1) }} {{ 'x</think>y</think>z'.split('</think>')[-1] }}", {}),
    ("{{ 'banana'.replace('a', 'o') }} {{ 'banana'.replace('a', 'o', 1) }} {{ 'banana'.find('n') }} {{ 'banana'.rfind('n') }} {{ 'banana'.find('z') }} {{ 'banana'.count('a') }} {{ '-'.join(['a', 'b']) }} {{ 'a\nb\r\nc'.splitlines() }} {{ '{} and {name}'.format(1, name='n') }}", {}),
    ("{{ 'é'.upper() }} {{ 'ß'.upper() }} {{ 'ǅ'.lower() }} {{ 'ŉ'.title() }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }}", {}),
    # dict and list methods / literals
    ("{% for k in d.keys() %}{{ k }}{% endfor %} {{ d.values() | list }} {{ d.items() | list }} {{ {'a': 1, 'b': {'c': [1, 2]}}.b.c[1] }} {{ [1, 2, 3].index(2) }} {{ [1, 1, 2].count(1) }}", {"d": {"x": 1, "y": 2}}),
    ("{{ dict(a=1, b='x') }} {{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }} {{ namespace(a=1).a }}", {}),
    ("{{ 0x1F }} {{ 1_000 }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }} {{ 'a' 'b' }} {{ \"\\u00e9\\x41\\n\" }}", {}),
    ("{% set t = {'a': 1} %}{{ t.a }}{{ t['a'] }}{{ [t][0].a }}{{ ([1, 2] + [3])[2] }}", {}),
    # loop.cycle and nested loops
    ("{% for i in [1, 2, 3] %}{{ loop.cycle('odd', 'even') }}{% for j in [1, 2] %}{{ loop.index }}{% endfor %}{{ loop.index }} {% endfor %}", {}),
    # scoping
    ("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("{% for i in [1, 2] %}[{{ y }}]{% set y = i %}{% endfor %}[{{ y }}]{% for i in [1] %}{% endfor %}[{{ i }}]", {}),
    ("{% macro m() %}{{ later }}{% set q = 1 %}{% endmacro %}{% set later = 'L' %}{{ m() }}[{{ q }}]{% if true %}{% set z = 3 %}{% endif %}{{ z }}", {}),
    ("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n }}*{{ fact(n - 1) }}{% endif %}{% endmacro %}{{ fact(4) }}", {}),
    ("{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }}{{ a }};{% endfor %}", {}),
    ("{% macro m(a, b, c='C') %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(*[1, 2]) }} {{ m(1, **{'b': 'B', 'c': 3}) }}", {}),
    # filters that return one-pass iterators (generators) in jinja2: always true, no length, no index
    ("{% if [] | select %}gen-true{% endif %}|{{ ([1, 2] | select)[0] }}|{{ [3, 1] | reverse | list }}|{{ 2 in ([1, 2] | map('int')) }}|{{ [1, 2] | select | first }}|{{ {'a': 1} | items | list }}", {}),
    ("{{ [1, 2] | select | length }}", {}),
    ("{{ ([1, 2] | map('int'))[1:] }}", {}),
    ("{{ [1, 2] | select | last }}", {}),
    ("{{ [1, 2] | select | tojson }}", {}),
    ("{% set (a, b) = [1, 2] %}{{ a }}{{ b }}|{{ ' a b c '.split(none, 1) }}|{{ [{'n': 1}, {'n': 1}, {'n': 0}] | sort(attribute='n', reverse=true) | map(attribute='n') | list }}|{{ ['b', 'B', 'a'] | max }}|{{ [none, none] | sort }}|{{ [u] }}", {}),
    ("{% set a = 'out' %}{% with a = 'in', b = a %}{{ a }}/{{ b }}{% endwith %}/{{ a }}/{{ b }}", {}),
    # precedence and odd corners
    ("{{ 10 - 2 - 3 }} {{ 2 ** 3 ** 2 }} {{ l | length - 1 }} {{ not u is defined }} {{ -2 ** 2 }} {{ 1 ~ 2 + 3 }} {{ 'a' if u is defined }}|{{ 1.0 ~ '' }}", {"l": [1, 2, 3]}),
    ("{{ none.attr }}|{{ 'str'.nope }}|{{ n.x }}|{{ u | string }}|{{ u | lower }}|{{ u | trim }}|{{ u | list }}|{{ u | join }}|{{ u | int }}|{{ u | items | list }}|{{ u ~ 'x' }}|{{ u == 'x' }}|{{ u is sequence }}|{{ u is string }}", {"n": None}),
    ("{{ \"{{\" }} {{ '}}' }} {{ '{%' ~ \"%}\" }} {{ 'it\\'s' }} {{ {'a': {'b': 1}} }}", {}),
    ("{% set d = {'x': 1} %}{{ d.x if d.x is defined else 'no' }} {{ d.y if d.y is defined else 'no' }} {{ d | tojson }} {{ [d, d] | map(attribute='x') | sum }}", {}),
    ("{%- for m in messages -%}\n  {%- if m.role == 'user' -%}\n    U:{{ m.content }}\n  {%- else -%}\n    A:{{ m.content }}\n  {%- endif -%}\n{%- endfor -%}", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
    ("{% for m in messages %}\n    {% if m.role == 'user' %}\n        User: {{ m.content }}\n    {% endif %}\n{% endfor %}", {"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "r"}]}),
    ("{{ 1e300 * 1e300 }} {{ -0.0 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 123456789.123456789 }} {{ 1e-4 }} {{ 12345678901234567890.0 }} {{ 3 * 1.1 }}", {}),
    ("{{ [1, 2] | tojson }} {{ {'a': 1.5e-7, 'b': 1e20, 'c': -0.0} | tojson }}", {}),
    ("{{ x | tojson }}", {"x": {"k": float("inf")}}),
    # errors
    ("{{ raise_exception('Bad role: ' ~ role) }}", {"role": "robot"}),
    ("{{ x.y }}", {}),
    ("{{ x.y.z }}", {"x": {}}),
    ("{{ 1 + 'a' }}", {}),
    ("{{ u + 1 }}", {}),
    ("{% if %}", {}),
    ("{{ 1 + }}", {}),
    ("{% for x in l %}{{ x }}", {"l": [1]}),
    ("{% endfor %}", {}),
    ("{{ [1].append(2) }}", {}),
    ("{{ 'x' | nosuchfilter }}", {}),
    ("{{ u | tojson }}", {}),
    ("{{ x() }}", {"x": 1}),
    ("{% set ns = namespace() %}{% set ns._private = 1 %}", {}),
]


def render_constructs():
    from transformers.utils.chat_template_utils import _compile_jinja_template

    cases = []
    for template, variables in CONSTRUCTS:
        case = {"template": template, "variables": variables}
        try:
            case["expected"] = _compile_jinja_template(template).render(**variables)
        except Exception as error:
            case["error"] = {"type": type(error).__name__, "message": str(error)}
        cases.append(case)
    return cases


def save_tokenizer(directory):
    """A three-token tokenizer with the Zephyr template, saved by transformers (tokenizer_config.json plus
    chat_template.jinja, as transformers 5 writes them) for the ChatTemplateFile loader test."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({"<unk>": 0, "<s>": 1, "</s>": 2}, unk_token="<unk>"))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tokenizer.chat_template = ZEPHYR
    tokenizer.save_pretrained(str(directory))


def main():
    import json
    import pathlib

    import jinja2
    import transformers

    out = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "TemplatesTests" / "Fixtures"
    out.mkdir(parents=True, exist_ok=True)
    provenance = f"scripts/make-template-fixtures.py with transformers {transformers.__version__}, jinja2 {jinja2.__version__}"
    chat = {"generated_by": provenance, "now": NOW, "templates": TEMPLATES, "cases": render_chat_cases()}
    constructs = {"generated_by": provenance, "cases": render_constructs()}
    save_tokenizer(out / "saved-tokenizer")
    for name, data in [("chat-templates.json", chat), ("constructs.json", constructs)]:
        (out / name).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out / name}: {len(data['cases'])} cases")


if __name__ == "__main__":
    main()
