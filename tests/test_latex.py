"""LaTeX textbook chapters → prose with Markdown heading lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import LatexOptions, SourceConfig
from pipelines.readers import read_file
from pipelines.readers.latex import latex_to_text
from pipelines.records import SourceRecord


def test_the_preamble_and_everything_after_end_document_are_dropped() -> None:
    source = (
        "\\documentclass{ctexbook}\n\\usepackage{amsmath}\n\\title{内科学}\n"
        "\\begin{document}\n心力衰竭是多种疾病的终末阶段。\n\\end{document}\n附注"
    )

    assert latex_to_text(source) == "心力衰竭是多种疾病的终末阶段。"


def test_sectioning_commands_become_heading_lines_from_the_highest_level_used() -> None:
    source = (
        "\\chapter{心力衰竭}\n概述。\n\\section*{慢性心力衰竭}\n"
        "\\subsection[诊断]{诊断与鉴别诊断}\n正文。\n\\paragraph{预后} 较差。"
    )

    assert latex_to_text(source) == (
        "# 心力衰竭\n\n概述。\n\n## 慢性心力衰竭\n\n### 诊断与鉴别诊断\n\n正文。\n\n"
        "#### 预后\n\n较差。"
    )


def test_comments_are_dropped_but_an_escaped_percent_sign_is_kept() -> None:
    source = "% 本节待修订\n射血分数低于40\\%时诊断为HFrEF。% 引自指南\n"

    assert latex_to_text(source) == "射血分数低于40%时诊断为HFrEF。"


def test_a_line_break_inside_a_paragraph_joins_chinese_without_a_space() -> None:
    source = "心力衰竭是各种心脏\n疾病的终末阶段，\nand it is common.\n\n下一段。"

    assert (
        latex_to_text(source) == "心力衰竭是各种心脏疾病的终末阶段，and it is common.\n\n下一段。"
    )


def test_references_citations_labels_and_index_entries_are_dropped() -> None:
    source = "心衰\\index{心力衰竭}\\label{sec:hf}的分期见表~\\ref{tab:stage}\\cite{guide2018}。"

    assert latex_to_text(source) == "心衰的分期见表。"


def test_text_formatting_keeps_its_argument() -> None:
    source = "\\textbf{利尿剂}、\\emph{螺内酯}与\\textit{地高辛}"

    assert latex_to_text(source) == "利尿剂、螺内酯与地高辛"


def test_an_unknown_command_keeps_the_text_of_its_braced_argument() -> None:
    assert latex_to_text("见\\drugname[通用名]{呋塞米}说明书") == "见呋塞米说明书"


def test_list_items_become_lines() -> None:
    source = (
        "常用药物：\n\\begin{itemize}\n  \\item 利尿剂\n  \\item 血管紧张素转换酶抑制剂\n"
        "\\end{itemize}\n\\begin{enumerate}\\item[(1)] 休息\\end{enumerate}"
    )

    assert latex_to_text(source) == "常用药物：\n利尿剂\n血管紧张素转换酶抑制剂\n(1) 休息"


def test_figures_tables_pictures_and_graphics_are_dropped() -> None:
    source = (
        "见下图。\n\\begin{figure}[h]\\centering\\includegraphics{hf.png}\\caption{心衰}"
        "\\end{figure}\n\\begin{table}\\begin{tabular}{cc}药物&剂量\\\\\\end{tabular}\\end{table}"
        "\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}"
        "\\includegraphics[width=3cm]{ecg.png}完。"
    )

    assert latex_to_text(source) == "见下图。\n完。"


def test_escapes_tildes_and_line_breaks() -> None:
    source = "A\\&B、50\\_mg、\\#1、图~3\\\\第二行"

    assert latex_to_text(source) == "A&B、50_mg、#1、图 3\n第二行"


@pytest.mark.parametrize(
    ("math", "text"),
    [
        ("$5 \\times 10^{9}/L$", "5 × 10^9/L"),
        ("$\\frac{a}{b}$", "a/b"),
        ("$\\frac{a+b}{2}$", "(a+b)/2"),
        ("$3\\,\\mu\\mathrm{g}$", "3 μg"),
        ("$x \\leq 40\\%$", "x ≤ 40%"),
        ("$y \\geq 1$", "y ≥ 1"),
        ("$5 \\pm 1$", "5 ± 1"),
        ("$a \\cdot b$", "a · b"),
        ("$37^{\\circ}$C", "37°C"),
        ("$V_{d}$", "V_d"),
        ("\\(\\sqrt{x+1}\\)", "√(x+1)"),
        ("$\\mathrm{mmol/L}$", "mmol/L"),
    ],
)
def test_math_is_kept_as_readable_text(math: str, text: str) -> None:
    assert latex_to_text(math) == text


def test_display_math_stands_on_its_own_line() -> None:
    source = (
        "体表面积：\n\\[ BSA = 0.0061 \\times H \\]\n"
        "\\begin{equation}\nC = \\frac{D}{V}\n\\end{equation}"
    )

    assert latex_to_text(source) == "体表面积：\nBSA = 0.0061 × H\nC = D/V"


def test_math_can_be_dropped() -> None:
    source = "剂量为$5 \\mu g/kg$，公式\n\\begin{align}a &= b\\end{align}\n如上。"

    assert latex_to_text(source, math="drop") == "剂量为，公式\n如上。"


def test_a_tex_file_is_read_with_the_sources_math_option(tmp_path: Path) -> None:
    path = tmp_path / "第三章.tex"
    path.write_text("\\section{心力衰竭}\n血钾$3.5 \\sim 5.5$ mmol/L。", encoding="utf-8")
    source = SourceConfig(name="教材", path=str(path), latex=LatexOptions(math="drop"))

    assert list(read_file(str(path), source)) == [
        SourceRecord("第三章.tex", "# 心力衰竭\n\n血钾 mmol/L。")
    ]
