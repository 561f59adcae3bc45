"""Train a GPT-2 or a Llama on a suite task with your own loop, then export it for `--model-dir`.

    python examples/own_training_loop.py OUT_DIR [--steps N] [--arch gpt2|llama]
    pytest claims/ --model-dir OUT_DIR          # or: python -m suite run --model-dir OUT_DIR

Nothing here uses the suite's training code: the data comes from the suite's task generator
(so the claims can regenerate it), the noise is drawn by this script, and the loop is plain
torch + transformers, and both model and tokenizer are saved with save_pretrained, so
AutoModelForCausalLM and AutoTokenizer load OUT_DIR. What the suite needs in OUT_DIR:

    config.json, model.safetensors   model.save_pretrained(OUT_DIR)  (GPT-2 or Llama family)
    tokenizer.json, tokenizer_config.json   tokenizer.save_pretrained(OUT_DIR): a tokenizer
                                     whose ids are the task vocabulary's (suite.tokenizer.build)
    task.json                        the task spec (suite.tasks.spec_to_dict), seed included
    noisy.json                       [{"prompt": [...], "label": [...]}, ...]: the training
                                     queries you gave a wrong label, and that label
    curve.json, checkpoints/         optional: dynamics claims report a precondition without them
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch
import transformers
from transformers import (AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM)

from suite import tokenizer as task_tokenizer
from suite.tasks import generate, make_spec, spec_to_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch", choices=("gpt2", "llama"), default="gpt2")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    # 1. The task, from the suite's generator, without its noise: this script draws its own.
    spec = make_spec("thr", n_entities=12, n_relations=4, noise=0.0, seed=args.seed)
    data = generate(spec)
    vocab = data.vocab
    queries = list(data.clean)
    entities = sorted({it.clean[0] for it in queries})
    noisy = {}
    for item in rng.sample(queries, k=len(queries) // 20):  # 5 % wrong labels
        noisy[item.prompt] = (rng.choice([e for e in entities if e != item.clean[0]]),)
    examples = [(it.prompt, noisy.get(it.prompt, it.clean)) for it in queries + list(data.atomic)]

    # 2. A plain model from transformers and a plain loop: loss on the answer tokens only.
    length = max(len(p) + len(a) for p, a in examples)
    if args.arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(
            vocab_size=len(vocab), max_position_embeddings=length, hidden_size=32,
            intermediate_size=88, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, pad_token_id=vocab.pad_id, bos_token_id=None,
            eos_token_id=None))
    else:
        model = GPT2LMHeadModel(GPT2Config(
            vocab_size=len(vocab), n_positions=length, n_embd=32, n_layer=2, n_head=2,
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, pad_token_id=vocab.pad_id,
            bos_token_id=None, eos_token_id=None))
    ids = torch.zeros(len(examples), length, dtype=torch.long)
    labels = torch.full_like(ids, -100)
    for row, (prompt, answer) in enumerate(examples):
        tokens = vocab.encode(prompt + answer)
        ids[row, :len(tokens)] = torch.tensor(tokens)
        labels[row, len(prompt):len(tokens)] = torch.tensor(vocab.encode(answer))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(args.steps):
        batch = torch.randint(len(examples), (64,))
        loss = model(input_ids=ids[batch], labels=labels[batch]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # 3. Export: the checkpoint and its tokenizer, the task spec and the noise list.
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    task_tokenizer.build(vocab).save_pretrained(args.out)
    (args.out / "task.json").write_text(json.dumps(spec_to_dict(spec)))
    (args.out / "noisy.json").write_text(json.dumps(
        [{"prompt": list(p), "label": list(label)} for p, label in noisy.items()]))
    print(f"saved to {args.out} after {args.steps} steps, final loss {loss.item():.3f}")

    # 4. Loaded back as anyone would: a prompt in, the model's answer out.
    transformers.utils.logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(args.out)
    loaded = AutoModelForCausalLM.from_pretrained(args.out).eval()
    prompt = " ".join(queries[0].prompt)
    inputs = tokenizer(prompt, return_tensors="pt")
    out = loaded.generate(**inputs, max_new_tokens=len(queries[0].clean), do_sample=False,
                          pad_token_id=tokenizer.pad_token_id)
    print(f"{prompt} -> {tokenizer.decode(out[0, inputs.input_ids.shape[1]:])} "
          f"(clean answer: {' '.join(queries[0].clean)})")


if __name__ == "__main__":
    main()
